internal import CAirunShims

/// NVIDIA's management library, loaded with dlopen at run time: no build- or run-time dependency.
public enum NVML {
    public struct Reading: Sendable {
        public var name: String
        public var utilizationPercent: Double?
        public var memoryUsedMB: Double?
        public var memoryTotalMB: Double?
        public var powerW: Double?
        /// The device's total energy counter, in joules.
        public var energyJoules: Double?
        public var temperatureC: Double?
    }

    /// Opens NVML and initialises it; the number of devices, or nil when there is no usable NVML
    /// (no library, no driver, no devices, or a fully static airun where dlopen is unsafe).
    public static func open() -> Int? {
        guard airun_nvml_open() == 0 else { return nil }
        let n = airun_nvml_device_count()
        return n > 0 ? Int(n) : nil
    }

    public static func read(_ index: Int) -> Reading? {
        var r = airun_gpu_reading()
        guard airun_nvml_read(UInt32(index), &r) == 0 else { return nil }
        func known(_ v: Double) -> Double? { v < 0 ? nil : v }
        let name = withUnsafeBytes(of: r.name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return Reading(name: name, utilizationPercent: known(r.utilization), memoryUsedMB: known(r.memory_used_mb),
                       memoryTotalMB: known(r.memory_total_mb), powerW: known(r.power_w), energyJoules: known(r.energy_j),
                       temperatureC: known(r.temperature_c))
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
