import AirunCore
import AirunSystem

/// Samples the child's process tree (every descendant, found afresh each tick), the system's
/// memory and load, and the GPUs, every `interval` while an attempt runs. Driven by the
/// supervisor's poll loop: no threads of its own (NVML opens on one: `GPUSamplerStart`).
final class ResourceSampler {
    let root: ProcessID
    let started: Int64
    let interval: Int64
    private(set) var nextDeadline: Int64
    private(set) var summary = ResourceSummary()
    private(set) var latest: ResourceSample?
    /// The samples since the last `takeWindow()`: a server's heartbeat reports them.
    private var window = ResourceSummary()
    /// The GPU sampler, made at the first sample, not at spawn: a command that ends within 100 ms
    /// pays nothing for looking for a GPU (a dlopen and a PATH search).
    private enum GPUState {
        case notStarted(GPUSamplerStart)
        /// NVML opening on its own thread: its descriptor, readable when it has answered.
        case waiting(event: FileDescriptor, start: GPUSamplerStart, since: Int64)
        case made((any GPUSampler)?)
    }
    private var gpuState: GPUState
    private var gpu: (any GPUSampler)? { if case .made(let sampler) = gpuState { sampler } else { nil } }
    private let onSample: ((ResourceSample) -> Void)?
    private var lastCPU: (time: Int64, ticks: Int64)?
    private(set) var treePIDs: Set<ProcessID> = []
    private let ticksPerSecond = clockTicksPerSecond()
    private let pageMB = pageSizeBytes() / 1_048_576

    init(root: ProcessID, started: Int64, interval: TimeSpan, gpu gpuStart: GPUSamplerStart?, onSample: ((ResourceSample) -> Void)?) {
        self.root = root
        self.started = started
        self.interval = max(10_000_000, interval.nanoseconds)
        gpuState = gpuStart.map { .notStarted($0) } ?? .made(nil)
        self.onSample = onSample
        // The first sample comes early, so a short command is still measured once.
        nextDeadline = started + min(self.interval, 100_000_000)
    }

    var descriptors: [FileDescriptor] {
        if case .waiting(let event, _, _) = gpuState { return [event] }
        return gpu?.descriptors ?? []
    }

    func readable(_ fd: FileDescriptor, now: Int64) {
        let elapsed = Double(now - started) / 1e9
        if case .waiting(let event, let start, _) = gpuState, fd == event {
            // NVML has answered: its sampler (or nvidia-smi's) reads the GPUs now, not an interval on.
            gpuState = .made(start.finish())
            gpu?.tick(now: now, elapsed: elapsed, summary: &summary, tree: treePIDs)
            return
        }
        gpu?.readable(fd, elapsed: elapsed, summary: &summary, tree: treePIDs)
    }

    /// Takes a sample if it is due.
    func tick(now: Int64) {
        guard now >= nextDeadline else { return }
        nextDeadline = now + interval
        if case .notStarted(let start) = gpuState {
            switch start.begin() {
            case .ready(let sampler): gpuState = .made(sampler)
            case .waiting(let event): gpuState = .waiting(event: event, start: start, since: now)
            }
        }
        if case .waiting(_, let start, let since) = gpuState, now - since >= GPUSamplerStart.patienceNanoseconds {
            // NVML has not answered (a hung driver): nvidia-smi, whose hang costs only its process.
            gpuState = .made(start.giveUp())
        }
        let tree = processTree(root)
        // A process that is exiting has already released its memory: nothing left to measure.
        guard tree.contains(where: { $0.residentPages > 0 }) else { return }
        treePIDs = Set(tree.map(\.pid))
        let ticks = tree.reduce(0) { $0 + $1.userTicks + $1.systemTicks }
        var cpu: Double?
        if let last = lastCPU, now > last.time {
            cpu = Double(ticks - last.ticks) / ticksPerSecond / (Double(now - last.time) / 1e9) * 100
        }
        lastCPU = (now, ticks)
        let system = systemMemory() ?? SystemMemory()
        let load = loadAverage()
        gpu?.tick(now: now, elapsed: Double(now - started) / 1e9, summary: &summary, tree: treePIDs)
        let sample = ResourceSample(
            elapsed: Double(now - started) / 1e9, treeRSSMB: Double(tree.reduce(0) { $0 + $1.residentPages }) * pageMB,
            cpuPercent: cpu.map { max(0, $0) }, threads: tree.reduce(0) { $0 + $1.threads }, processes: tree.count,
            system: system, load1: load, gpus: [], treeGPUMemoryMB: gpu?.treeMemoryMB(treePIDs))
        summary.add(sample)
        var withGPU = sample
        withGPU.gpus = gpu?.latest ?? []
        latest = withGPU
        window.add(withGPU)
        onSample?(withGPU)
    }

    /// Peaks and means since the previous call (the previous heartbeat).
    func takeWindow() -> ResourceSummary {
        defer { window = ResourceSummary() }
        return window
    }

    func finish() { gpu?.stop(summary: &summary) }
}

/// The process and its descendants, via /proc/<pid>/task/<tid>/children; zombies excluded.
func processTree(_ root: ProcessID) -> [ProcessStat] {
    var out: [ProcessStat] = []
    var queue = [root]
    var seen: Set<ProcessID> = []
    while let pid = queue.popLast(), out.count < 4096 {
        guard seen.insert(pid).inserted, let stat = processStat(pid) else { continue }
        if stat.state != "Z" { out.append(stat) }
        queue += childProcesses(pid)
    }
    return out
}
