import AirunCore
import AirunSystem

/// GPU sampling through one long-lived `nvidia-smi --query-gpu=… -lms N` per attempt (one spawn
/// costs ~25 ms, so never one per sample), plus `--query-compute-apps` every few seconds for the
/// GPU memory of the child's own processes. Any failure (no devices, an unknown field, nvidia-smi
/// dying) leaves the run without GPU figures and one warning; the run itself never fails.
final class NvidiaSmiSampler: GPUSampler {
    private let executable: String
    private let console: Console
    private var loop: (pid: ProcessID, out: FileDescriptor)?
    private var apps: (pid: ProcessID, out: FileDescriptor)?
    private var loopBuffer: [UInt8] = []
    private var appsBuffer: [UInt8] = []
    private var loopOutput: [UInt8] = []  // the first bytes, for the warning if nothing parses
    private var sawReading = false
    private var nextApps: Int64 = 0
    private(set) var latest: [GPUReading] = []
    private var lastApps: [GPUProcess] = []
    private let appsInterval: Int64 = 5_000_000_000

    /// Finds nvidia-smi on `path`; nil (no GPU sampling) when it is not there.
    init?(path: String?, console: Console) {
        guard case .found(let exe) = resolveExecutable("nvidia-smi", path: path) else { return nil }
        executable = exe
        self.console = console
    }

    func start(interval: TimeSpan) {
        let ms = max(50, interval.nanoseconds / 1_000_000)
        loop = launch(["--query-gpu=" + NvidiaSmi.gpuFields, "--format=csv,noheader,nounits", "-lms", String(ms)])
        if loop == nil { console.warn("GPU sampling unavailable: cannot start \(executable)", once: "gpu") }
    }

    var descriptors: [FileDescriptor] { [loop?.out, apps?.out].compactMap { $0 } }

    private func launch(_ args: [String]) -> (Int32, FileDescriptor)? {
        guard let pipe = try? FileDescriptor.pipe(), let null = try? FileDescriptor.openNull() else { return nil }
        defer { pipe.write.close(); null.close() }
        guard let pid = try? spawn(path: executable, arguments: [executable] + args, environment: Environment.current().entries,
                                   configuration: SpawnConfiguration(standardInput: null, standardOutput: pipe.write,
                                                                     standardError: null, group: .newGroup)) else {
            pipe.read.close()
            return nil
        }
        return (pid, pipe.read)
    }

    func readable(_ fd: FileDescriptor, elapsed: Double, summary: inout ResourceSummary, tree: Set<ProcessID>) {
        var chunk = [UInt8](repeating: 0, count: 8192)
        let n = chunk.withUnsafeMutableBytes { (try? fd.read(into: $0.baseAddress!, count: $0.count)) ?? -1 }
        if let l = loop, fd == l.out {
            guard n > 0 else { return loopEnded() }
            if loopOutput.count < 300 { loopOutput += chunk.prefix(n) }
            loopBuffer += chunk.prefix(n)
            // One line per GPU per interval, all GPUs of an interval with the same timestamp: group
            // them, and integrate power over nvidia-smi's own clock rather than our read times.
            var group: [GPUReading] = []
            var groupTime: Double?
            func flush() {
                guard !group.isEmpty else { return }
                summary.addGPU(group, at: groupTime ?? elapsed)
                group = []
            }
            while let nl = loopBuffer.firstIndex(of: 0x0A) {
                let line = String(decoding: loopBuffer[..<nl], as: UTF8.self)
                loopBuffer.removeFirst(nl + 1)
                guard let (r, time) = NvidiaSmi.parseGPULine(Substring(line)) else { continue }
                if time != groupTime || group.contains(where: { $0.index == r.index }) { flush() }
                groupTime = time
                group.append(r)
                sawReading = true
                latest.removeAll { $0.index == r.index }
                latest.append(r)
            }
            flush()
        } else if let a = apps, fd == a.out {
            if n > 0 { appsBuffer += chunk.prefix(n); return }
            a.out.close()
            abandon(a.pid)
            apps = nil
            lastApps = String(decoding: appsBuffer, as: UTF8.self).split(separator: "\n").compactMap(NvidiaSmi.parseAppLine)
            appsBuffer = []
            if let mb = treeMemoryMB(tree) { summary.addChildGPUMemory(mb) }
        }
    }

    /// GPU memory held by the given processes, per the last compute-apps query.
    func treeMemoryMB(_ tree: Set<ProcessID>) -> Double? {
        let mine = lastApps.filter { tree.contains($0.pid) }
        return mine.isEmpty ? (lastApps.isEmpty ? nil : 0) : mine.reduce(0) { $0 + $1.usedMemoryMB }
    }

    func tick(now: Int64, elapsed: Double, summary: inout ResourceSummary, tree: Set<ProcessID>) { pollApps(now: now) }

    /// Starts a compute-apps query when one is due and none is running.
    func pollApps(now: Int64) {
        guard loop != nil || sawReading, apps == nil, now >= nextApps else { return }
        nextApps = now + appsInterval
        apps = launch(["--query-compute-apps=" + NvidiaSmi.appFields, "--format=csv,noheader,nounits"])
    }

    private func loopEnded() {
        guard let l = loop else { return }
        l.out.close()
        abandon(l.pid)
        loop = nil
        let said = String(decoding: loopOutput.prefix(200), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        if !sawReading {
            let why = said.isEmpty ? "nvidia-smi exited without output" : said
            console.warn("GPU sampling unavailable: \(why)", once: "gpu")
        } else {
            console.warn("GPU sampling stopped: nvidia-smi exited during the run", once: "gpu")
        }
    }

    /// Ends the sampling processes without waiting for them.
    func stop(summary: inout ResourceSummary) {
        for p in [loop, apps].compactMap({ $0 }) {
            p.out.close()
            abandon(p.pid)
        }
        loop = nil
        apps = nil
    }

    /// SIGKILL to the helper's group, then reaps it only if it is already gone.
    /// - Important: never wait for nvidia-smi. On a hung driver it sits in the kernel where no
    ///   signal reaches it (a TERM-ignoring one here took a 1 s run to 15 s); an unreaped helper
    ///   is a zombie until airun exits, which costs nothing.
    private func abandon(_ pid: ProcessID) {
        sendSignal(.kill, to: -pid)
        reapIfExited(pid)
    }
}
