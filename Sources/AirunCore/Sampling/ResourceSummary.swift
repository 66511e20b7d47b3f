/// One sample of the child's process tree, the system and the GPUs.
public struct ResourceSample: Sendable {
    /// Seconds since the attempt started.
    public var elapsed: Double
    public var treeRSSMB: Double
    /// CPU use of the tree since the previous sample, in percent of one core.
    public var cpuPercent: Double?
    public var threads: Int64
    public var processes: Int
    public var system: SystemMemory
    public var load1: Double?
    public var gpus: [GPUReading]
    /// GPU memory held by the tree's processes, when known.
    public var treeGPUMemoryMB: Double?

    public init(elapsed: Double, treeRSSMB: Double, cpuPercent: Double?, threads: Int64, processes: Int, system: SystemMemory,
                load1: Double?, gpus: [GPUReading], treeGPUMemoryMB: Double?) {
        self.elapsed = elapsed
        self.treeRSSMB = treeRSSMB
        self.cpuPercent = cpuPercent
        self.threads = threads
        self.processes = processes
        self.system = system
        self.load1 = load1
        self.gpus = gpus
        self.treeGPUMemoryMB = treeGPUMemoryMB
    }
}

/// Peaks, means and totals over an attempt's samples, for `attempt.end`.
public struct ResourceSummary: Sendable {
    public private(set) var sampleCount = 0
    public private(set) var peakRSSMB: Double?
    public private(set) var peakThreads: Int64?
    public private(set) var minMemoryAvailableMB: Double?
    public private(set) var peakGPUMemoryUsedMB: Double?
    public private(set) var peakChildGPUMemoryMB: Double?
    public private(set) var peakGPUPowerW: Double?
    /// Energy from integrating power over the samples (trapezoids), unless a counter was given.
    public private(set) var gpuEnergyJoules: Double?
    /// Free GPU memory (total minus used, all devices) at the latest reading that had both.
    public private(set) var gpuMemoryAvailableMB: Double?
    private var cpuSum = 0.0, cpuCount = 0
    private var rssSum = 0.0
    private var utilSum = 0.0, utilCount = 0
    private var lastPower: (time: Double, watts: Double)?
    private var energyFromCounter = false

    public init() {}

    public var meanCPUPercent: Double? { cpuCount == 0 ? nil : cpuSum / Double(cpuCount) }
    public var meanRSSMB: Double? { sampleCount == 0 ? nil : rssSum / Double(sampleCount) }
    public var meanGPUUtilizationPercent: Double? { utilCount == 0 ? nil : utilSum / Double(utilCount) }

    public mutating func add(_ s: ResourceSample) {
        sampleCount += 1
        peakRSSMB = max(peakRSSMB ?? 0, s.treeRSSMB)
        rssSum += s.treeRSSMB
        peakThreads = max(peakThreads ?? 0, s.threads)
        if let m = s.system.availableMB { minMemoryAvailableMB = min(minMemoryAvailableMB ?? .infinity, m) }
        if let c = s.cpuPercent { cpuSum += c; cpuCount += 1 }
        if let g = s.treeGPUMemoryMB { peakChildGPUMemoryMB = max(peakChildGPUMemoryMB ?? 0, g) }
        addGPU(s.gpus, at: s.elapsed)
    }

    /// GPU readings that arrive on their own clock (nvidia-smi's loop).
    public mutating func addGPU(_ gpus: [GPUReading], at time: Double) {
        guard !gpus.isEmpty else { return }
        let used = gpus.compactMap(\.memoryUsedMB)
        if !used.isEmpty { peakGPUMemoryUsedMB = max(peakGPUMemoryUsedMB ?? 0, used.reduce(0, +)) }
        let totals = gpus.compactMap(\.memoryTotalMB)
        if used.count == gpus.count, totals.count == gpus.count {
            gpuMemoryAvailableMB = max(0, totals.reduce(0, +) - used.reduce(0, +))
        }
        for u in gpus.compactMap(\.utilizationPercent) { utilSum += u; utilCount += 1 }
        let powers = gpus.compactMap(\.powerW)
        guard !powers.isEmpty else { return }
        let watts = powers.reduce(0, +)
        peakGPUPowerW = max(peakGPUPowerW ?? 0, watts)
        if !energyFromCounter, let last = lastPower, time > last.time {
            gpuEnergyJoules = (gpuEnergyJoules ?? 0) + (last.watts + watts) / 2 * (time - last.time)
        }
        lastPower = (time, watts)
    }

    /// Energy from a device counter (NVML), which replaces the power integral.
    public mutating func setEnergy(_ joules: Double) {
        energyFromCounter = true
        gpuEnergyJoules = joules
    }

    public mutating func addChildGPUMemory(_ mb: Double) {
        peakChildGPUMemoryMB = max(peakChildGPUMemoryMB ?? 0, mb)
    }
}
