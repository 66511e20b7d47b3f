/// One GPU at one moment.
public struct GPUReading: Equatable, Sendable {
    public var index: Int
    public var utilizationPercent: Double?
    public var memoryUsedMB: Double?
    public var memoryTotalMB: Double?
    public var powerW: Double?

    public init(index: Int, utilizationPercent: Double? = nil, memoryUsedMB: Double? = nil, memoryTotalMB: Double? = nil, powerW: Double? = nil) {
        self.index = index
        self.utilizationPercent = utilizationPercent
        self.memoryUsedMB = memoryUsedMB
        self.memoryTotalMB = memoryTotalMB
        self.powerW = powerW
    }
}

/// A process using GPU memory (nvidia-smi `--query-compute-apps`, NVML running processes).
public struct GPUProcess: Equatable, Sendable {
    public var pid: ProcessID
    public var usedMemoryMB: Double
}

/// nvidia-smi's CSV output, as airun asks for it (`--format=csv,noheader,nounits`).
public enum NvidiaSmi {
    /// The fields of the sampling loop, in order.
    public static let gpuFields = "timestamp,index,utilization.gpu,utilization.memory,memory.used,memory.total,power.draw"
    public static let appFields = "pid,process_name,used_memory,gpu_uuid"

    /// A number, or nil for `[N/A]`, `[Not Supported]`, `[Unknown Error]` and other non-numbers.
    static func number(_ field: Substring) -> Double? {
        Double(field.trimmingSpaces())
    }

    /// One line of the `--query-gpu=<gpuFields> -lms N` loop; nil for anything else (an error
    /// message on stdout, a header).
    public static func parseGPULine(_ line: Substring) -> (reading: GPUReading, time: Double?)? {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count == 7, let index = Int(f[1].trimmingSpaces()) else { return nil }
        return (GPUReading(index: index, utilizationPercent: number(f[2]), memoryUsedMB: number(f[4]),
                           memoryTotalMB: number(f[5]), powerW: number(f[6])), parseTimestamp(f[0]))
    }

    /// nvidia-smi's `2026/11/26 10:47:00.936` as seconds since the Unix epoch (its local time,
    /// which only matters for differences between samples). A date outside years 1–9999 is no
    /// time: a year of 19 digits overflowed the day count (the `proc` fuzz target, 2026-12-02).
    public static func parseTimestamp(_ text: Substring) -> Double? {
        let parts = text.trimmingSpaces().split(whereSeparator: { $0 == "/" || $0 == " " || $0 == ":" })
        guard parts.count == 6, let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
              (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d),
              let h = Double(parts[3]), let mi = Double(parts[4]), let s = Double(parts[5]) else { return nil }
        return Double(daysFromCivil(y, m, d)) * 86400 + h * 3600 + mi * 60 + s
    }

    /// One line of `--query-compute-apps=<appFields>`; nil when the memory is not reported.
    public static func parseAppLine(_ line: Substring) -> GPUProcess? {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count >= 3, let pid = ProcessID(f[0].trimmingSpaces()), let used = number(f[2]) else { return nil }
        return GPUProcess(pid: pid, usedMemoryMB: used)
    }
}
