internal import CAirunShims
public import AirunCore

/// NVIDIA's management library, loaded with dlopen at run time: no build- or run-time dependency.
public enum NVML {
    public struct Reading: Sendable {
        public var name: String
        public var utilizationPercent: Double?
        public var memoryUsedMB: Double?
        public var memoryTotalMB: Double?
        public var powerW: Double?
        public var temperatureC: Double?
    }

    /// What opening NVML found.
    public enum Opening: Equatable, Sendable {
        /// NVML is loaded and initialised, with this many devices.
        case devices(Int)
        /// No usable NVML: no library, no driver, no devices, or a fully static airun where
        /// dlopen is unsafe (unless AIRUN_NVML_STATIC=1).
        case unavailable
        /// Loading it in a throw-away child first killed that child with this signal, so airun
        /// did not load it (a static airun on a machine whose C library differs from the build's).
        case crashed(Signal)
    }

    /// How the opening `startOpening` began stands.
    public enum Start: Equatable, Sendable {
        case done(Opening)
        /// Under way on a thread of its own: the descriptor becomes readable when it is done, and
        /// stays so (it belongs to the opening: never read or closed by its users).
        case underway(FileDescriptor)
    }

    /// Opens NVML and initialises it on a thread of its own, once a run (a later call finds the
    /// same opening): nvmlInit takes ~12 ms on an H200, the probe's child where it runs up to its
    /// 10 s alarm, and a hung driver for good, and none of that is the caller's wait.
    public static func startOpening() -> Start {
        let event = airun_nvml_open_start()
        if event >= 0 { return .underway(FileDescriptor(event)) }
        return .done(opened() ?? .unavailable)
    }

    /// Whether the opening `startOpening` began is still under way (`exitProcess` asks).
    static var isOpening: Bool { airun_nvml_opening_underway() != 0 }

    /// The result of the opening `startOpening` began; nil while it is under way.
    public static func opened() -> Opening? {
        var signal: Int32 = 0
        let code = airun_nvml_opened(&signal)
        return code == 1 ? nil : opening(code, signal)
    }

    private static func opening(_ code: Int32, _ signal: Int32) -> Opening {
        switch code {
        case 0:
            let n = airun_nvml_device_count()
            return n > 0 ? .devices(Int(n)) : .unavailable
        case -3: return .crashed(Signal(signal))
        default: return .unavailable
        }
    }

    public static func read(_ index: Int) -> Reading? {
        var r = airun_gpu_reading()
        guard airun_nvml_read(UInt32(index), &r) == 0 else { return nil }
        func known(_ v: Double) -> Double? { v < 0 ? nil : v }
        let name = withUnsafeBytes(of: r.name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return Reading(name: name, utilizationPercent: known(r.utilization), memoryUsedMB: known(r.memory_used_mb),
                       memoryTotalMB: known(r.memory_total_mb), powerW: known(r.power_w),
                       temperatureC: known(r.temperature_c))
    }

    /// The device's total energy counter, in joules.
    /// - Important: about 4 ms of CPU a call on an H200: an attempt's start and end, not each sample.
    public static func energyJoules(_ index: Int) -> Double? {
        let j = airun_nvml_energy(UInt32(index))
        return j < 0 ? nil : j
    }

    /// Processes holding memory on device `index`: (pid, MiB).
    public static func processes(_ index: Int) -> [(pid: Int32, usedMB: Double)] {
        var pids = [UInt32](repeating: 0, count: 64)
        var used = [Double](repeating: 0, count: 64)
        let n = airun_nvml_processes(UInt32(index), &pids, &used, 64)
        guard n > 0 else { return [] }
        return (0..<Int(n)).map { (Int32(bitPattern: pids[$0]), used[$0]) }
    }
}
