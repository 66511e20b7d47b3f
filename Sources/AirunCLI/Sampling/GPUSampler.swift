import AirunCore
import AirunSystem

/// A source of GPU readings during an attempt: NVML when it works, else nvidia-smi.
protocol GPUSampler: AnyObject {
    /// Descriptors the poll loop must watch for this sampler (nvidia-smi's pipes; none for NVML).
    var descriptors: [FileDescriptor] { get }
    var latest: [GPUReading] { get }
    func readable(_ fd: FileDescriptor, elapsed: Double, summary: inout ResourceSummary, tree: Set<ProcessID>)
    /// Called at each sample: NVML reads here; nvidia-smi starts its slower process query.
    func tick(now: Int64, elapsed: Double, summary: inout ResourceSummary, tree: Set<ProcessID>)
    func treeMemoryMB(_ tree: Set<ProcessID>) -> Double?
    /// The attempt ended (called once or more): end helpers, settle figures read only at the end.
    func stop(summary: inout ResourceSummary)
}

/// The first GPU backend that works: NVML (2-10 µs a query on an H200), else a long-lived
/// nvidia-smi, else none. No GPU is normal, not an error.
///
/// NVML is opened off the poll loop (`NVML.startOpening`): until it has answered, the attempt
/// samples without the GPU, and the loop goes on passing the command's output through and its
/// signals on, however long the driver takes.
final class GPUSamplerStart {
    private let path: String?, console: Console, interval: TimeSpan, backend: String

    init(path: String?, console: Console, interval: TimeSpan, backend: String = "auto") {
        (self.path, self.console, self.interval, self.backend) = (path, console, interval, backend)
    }

    enum Begun {
        case ready((any GPUSampler)?)
        /// NVML is still opening: `finish()` once this descriptor is readable.
        case waiting(FileDescriptor)
    }

    func begin() -> Begun {
        guard backend != "nvidia-smi" else { return .ready(nvidiaSmi()) }
        switch NVML.startOpening() {
        case .done(let opening): return .ready(sampler(opening))
        case .underway(let event): return .waiting(event)
        }
    }

    /// The sampler, once the descriptor `begin` gave is readable.
    func finish() -> (any GPUSampler)? { sampler(NVML.opened() ?? .unavailable) }

    /// How long an attempt waits for NVML to answer before it does without: the probe's alarm.
    static let patienceNanoseconds: Int64 = 10_000_000_000

    /// NVML has not answered within `patienceNanoseconds` (a hung driver): nvidia-smi's sampler
    /// (`auto`), whose own hang costs only its process, or none.
    func giveUp() -> (any GPUSampler)? { withoutNVML(because: "NVML did not answer within 10 s") }

    private func sampler(_ opening: NVML.Opening) -> (any GPUSampler)? {
        switch opening {
        case .devices(let count): return NVMLSampler(devices: count)
        case .crashed(let signal):
            // Which C library libnvidia-ml needs is the usual cause; the probe's alarm, a hang.
            return withoutNVML(because: signal == .alarm ? "NVML did not start within 10 s in a test process"
                : "NVML killed a test process with \(signal) (a static airun cannot load libnvidia-ml "
                    + "when this machine's C library differs from the build's)")
        case .unavailable: return withoutNVML(because: nil)
        }
    }

    /// nvidia-smi's sampler unless `--gpu-backend nvml`; a reason NVML failed is warned of once
    /// (none is given where there is simply no NVML: no GPU is normal).
    private func withoutNVML(because why: String?) -> (any GPUSampler)? {
        if let why {
            guard backend == "auto" else {
                console.warn("GPU sampling unavailable: " + why, once: "gpu")
                return nil
            }
            console.warn(why + "; GPU figures from nvidia-smi", once: "nvml")
        }
        if backend == "nvml" {
            console.warn("GPU sampling unavailable: NVML (libnvidia-ml.so.1) could not be used", once: "gpu")
            return nil
        }
        return nvidiaSmi()
    }

    private func nvidiaSmi() -> (any GPUSampler)? {
        guard let smi = NvidiaSmiSampler(path: path, console: console) else { return nil }
        smi.start(interval: interval)
        return smi
    }
}

/// GPU figures straight from NVML at every sample; energy from the devices' own counters.
final class NVMLSampler: GPUSampler {
    let devices: Int
    private(set) var latest: [GPUReading] = []
    /// The energy counters are read at the first sample and when the attempt ends, never between:
    /// each read costs ~4 ms of CPU on an H200. Until the end the summary integrates power.
    private enum EnergyCounter { case unread, from(Double), settled }
    private var energyCounter = EnergyCounter.unread
    private var processes: [(pid: ProcessID, usedMB: Double)] = []

    init(devices: Int) { self.devices = devices }

    var descriptors: [FileDescriptor] { [] }
    func readable(_ fd: FileDescriptor, elapsed: Double, summary: inout ResourceSummary, tree: Set<ProcessID>) {}

    func tick(now: Int64, elapsed: Double, summary: inout ResourceSummary, tree: Set<ProcessID>) {
        var readings: [GPUReading] = []
        var procs: [(pid: ProcessID, usedMB: Double)] = []
        for i in 0..<devices {
            guard let r = NVML.read(i) else { continue }
            readings.append(GPUReading(index: i, utilizationPercent: r.utilizationPercent, memoryUsedMB: r.memoryUsedMB,
                                       memoryTotalMB: r.memoryTotalMB, powerW: r.powerW))
            procs += NVML.processes(i)
        }
        latest = readings
        processes = procs
        summary.addGPU(readings, at: elapsed)
        if case .unread = energyCounter, !readings.isEmpty { energyCounter = energy().map { .from($0) } ?? .settled }
        if let mb = treeMemoryMB(tree) { summary.addChildGPUMemory(mb) }
    }

    /// The devices' summed energy counters; nil when any device has none.
    private func energy() -> Double? {
        var sum = 0.0
        for i in 0..<devices {
            guard let e = NVML.energyJoules(i) else { return nil }
            sum += e
        }
        return sum
    }

    func treeMemoryMB(_ tree: Set<ProcessID>) -> Double? {
        processes.filter { tree.contains($0.pid) }.reduce(0) { $0 + $1.usedMB }
    }

    /// Energy from the counters, from the first sample to now, when both reads worked.
    func stop(summary: inout ResourceSummary) {
        guard case .from(let start) = energyCounter else { return }
        energyCounter = .settled
        if let end = energy() { summary.setEnergy(end - start) }
    }
}
