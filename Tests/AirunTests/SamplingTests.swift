@testable import AirunCore
import AirunSystem
import Foundation
import Testing

/// A fake nvidia-smi that replays the H200 captures (Tests/AirunTests/Fixtures/gpu), in a
/// directory put first on PATH. FAKE_SMI_MODE picks a failure mode.
enum FakeNvidiaSmi {
    static func install(in s: Scratch) throws -> String {
        let dir = s.file("fake-bin")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let load = Fixture.directory + "/gpu/smi-query-load.txt"
        let idle = Fixture.directory + "/gpu/smi-query-idle.txt"
        let script = """
            #!/bin/sh
            # Replays nvidia-smi output captured on an H200 (see Fixtures/README.md).
            case "$*" in
            *--query-compute-apps*)
                [ "$FAKE_SMI_MODE" = hangs ] && { trap '' TERM; exec sleep 30; }
                pid=$(cat "$FAKE_SMI_PIDFILE" 2>/dev/null || echo 659)
                sed -n '/^## compute-apps under load/{n;p;}' '\(load)' | sed "s/^659,/$pid,/"
                exit 0 ;;
            esac
            case "$*" in
            *--query-gpu=index,uuid,name*)
                sed -n '/^## csv,noheader,nounits/{n;p;}' '\(idle)'
                exit 0 ;;
            esac
            case "$FAKE_SMI_MODE" in
            invalid) echo 'Field "not.a.field" is not a valid field to query.'; echo; exit 2 ;;
            nodevices) echo 'No devices were found'; exit 6 ;;
            dies) sed -n '2,3p' '\(load)'; exit 1 ;;
            hangs) sed -n '2,3p' '\(load)'; trap '' TERM; exec sleep 30 ;;
            esac
            sed -n '2,11p' '\(load)'
            exec sleep 60
            """
        let path = s.write("fake-bin/nvidia-smi", Array(script.utf8))
        chmod(path, 0o755)
        return dir
    }

    /// The capture's loop lines: (seconds, utilization, memory used, power).
    static func captured() -> [(Double, Double, Double, Double)] {
        Fixture.text("gpu/smi-query-load.txt").split(separator: "\n").dropFirst().prefix(10).map { line in
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let t = f[0].split(separator: " ")[1].split(separator: ":")
            return (Double(t[0])! * 3600 + Double(t[1])! * 60 + Double(t[2])!, Double(f[2])!, Double(f[4])!, Double(f[6])!)
        }
    }
}

@Suite("resource sampling", .serialized, .timeLimit(.minutes(2)), .offPool)
struct SamplingTests {
    @Test("a grandchild holding 300 MB shows in peak_rss_mb")
    func grandchildMemory() throws {
        let r = try airun(["-q", "--no-gpu", "--sample-interval", "100ms", "--", "sh", "-c",
                           "python3 -c 'import time; b = bytearray(300 * 1024 * 1024); time.sleep(1.2)' & wait"])
        let end = try #require(r.records("attempt.end").first)
        let peak = try #require(end["peak_rss_mb"] as? Double)
        #expect(peak >= 280 && peak <= 400, "peak_rss_mb \(peak)")
        #expect((end["sample_count"] as? Int ?? 0) >= 5)
        #expect((end["peak_threads"] as? Int ?? 0) >= 2)
        #expect((end["min_system_memory_available_mb"] as? Double ?? 0) > 0)
    }

    @Test("/proc parsers on the H200 capture of a loaded PyTorch process")
    func procParsers() throws {
        let capture = Fixture.text("gpu/smi-query-load.txt")
        let statLine = try #require(capture.split(separator: "\n").first { $0.hasPrefix("659 (python3)") })
        let stat = try #require(ProcessStat.parse(String(statLine)))
        #expect(stat.pid == 659 && stat.parent == 586 && stat.state == "R")
        #expect(stat.userTicks == 704 && stat.systemTicks == 53 && stat.threads == 18 && stat.residentPages == 184732)
        #expect(ProcessStat.parse("42 (a (weird) name) S 1 42 42 0 -1 0 0 0 0 0 5 6 0 0 20 0 3 0 100 1000 77 0")?.residentPages == 77)
        let mem = SystemMemory.parse(meminfo: "MemTotal: 100 kB\nMemAvailable:    2048 kB\nSwapTotal: 4096 kB\nSwapFree: 1024 kB\n")
        #expect(mem.availableMB == 2 && mem.swapUsedMB == 3)
        #expect(parseLoadAverage("0.80 0.98 1.13 2/345 6789\n") == 0.8)
        #expect(NvidiaSmi.parseGPULine("2026/11/26 10:47:01.141, 0, [N/A], [Not Supported], 25677, 143771, [N/A]")?.reading
                == GPUReading(index: 0, memoryUsedMB: 25677, memoryTotalMB: 143771))
        // Dates no day count can hold are no time, not a trap (the proc fuzz target's input).
        #expect(abs((NvidiaSmi.parseTimestamp("2026/11/26 10:47:01.141") ?? 0) - 1_795_690_021.141) < 0.001)
        for date in ["8888888888888888829/11/20 10:23:01.141", "-9223372036854775808/1/1 0:0:0", "2026/9223372036854775807/1 0:0:0",
                     "2026/13/01 00:00:00", "2026/11/-922337203685477580 0:0:0", "0/1/1 0:0:0"] {
            #expect(NvidiaSmi.parseTimestamp(Substring(date)) == nil, "\(date)")
            #expect(NvidiaSmi.parseGPULine(Substring(date + ", 0, 98, 24, 25677, 143771, 220.85"))?.time == nil, "\(date)")
        }
    }

    @Test("what airun reads from the system, parsed in Core: the machine's own files and hostile ones")
    func systemParsers() throws {
        // This machine's files, read the way airun reads them, agree with what the kernel says.
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let mem = SystemMemory.parse(meminfo: meminfo)
        let total = try #require(mem.totalMB)
        #expect(total > 100 && (mem.availableMB ?? -1) > 0 && (mem.availableMB ?? .infinity) <= total)
        #expect(CgroupMemory.limitFile(procSelfCgroup: "12:cpu:/x\n0::/user.slice/s.scope\n") == "/sys/fs/cgroup/user.slice/s.scope/memory.max")
        #expect(CgroupMemory.limitFile(procSelfCgroup: "0::/\n") == "/sys/fs/cgroup/memory.max")
        #expect(CgroupMemory.limitFile(procSelfCgroup: "0::/../../etc\n") == nil)
        #expect(CgroupMemory.limitFile(procSelfCgroup: "3:memory:/docker/x\n") == nil)
        #expect(CgroupMemory.limitMegabytes(memoryMax: "17179869184\n") == 16384)
        for bad in ["max\n", "", "-1", "1e400", "99999999999999999999999"] { #expect(CgroupMemory.limitMegabytes(memoryMax: bad) == nil) }
        let passwd = Array("root:x:0:0:root:/root:/bin/bash\nbroken\nana:x:1000:1000::/home/ana:/bin/sh\nodd:x:1000\u{FF}:0::/h:\n".utf8)
        #expect(passwdFields(uid: 1000, in: passwd).map { $0.map { String(decoding: $0, as: UTF8.self) } }
                == ["ana", "x", "1000", "1000", "", "/home/ana", "/bin/sh"])
        #expect(passwdFields(uid: 7, in: passwd) == nil && passwdFields(uid: 0, in: Array("::\n:::\n".utf8)) == nil)
        #expect(parseChildren("412 413 \n9000 x -5 99999999999") == [412, 413, 9000])
        #expect(SystemMemory.parse(meminfo: "MemTotal: nan kB\nMemAvailable: inf kB\n") == SystemMemory())
    }

    @Test("/proc/PID/stat, meminfo and loadavg read as bytes give what the Character readers gave (seeded)")
    func procParsersAsCharacters() {
        // The readers they replaced: lines, words and fields as Characters.
        func statByCharacters(_ text: String) -> ProcessStat? {
            guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
                  let pid = ProcessID(text[..<open].trimmingSpaces()) else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count >= 22, let state = fields[0].first, let ppid = ProcessID(fields[1]), let utime = Int64(fields[11]),
                  let stime = Int64(fields[12]), let threads = Int64(fields[17]), let rss = Int64(fields[21]) else { return nil }
            return ProcessStat(pid: pid, parent: ppid, state: state, userTicks: utime, systemTicks: stime, threads: threads, residentPages: rss)
        }
        func meminfoByCharacters(_ text: String) -> SystemMemory {
            var values: [Substring: Double] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon]
                guard key == "MemAvailable" || key == "MemTotal" || key == "SwapTotal" || key == "SwapFree" else { continue }
                values[key] = line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
            }
            let swap = values["SwapTotal"].flatMap { total in values["SwapFree"].map { (total - $0) / 1024 } }
            return SystemMemory(availableMB: values["MemAvailable"].map { $0 / 1024 }, swapUsedMB: swap, totalMB: values["MemTotal"].map { $0 / 1024 })
        }
        // Pieces dense in what the readers split at; no "\r" before a newline nor a combining mark
        // after a separator, where Characters join what bytes part (the kernel writes neither).
        let pieces = ["MemTotal", "MemAvailable", "SwapTotal", "SwapFree", ":", " ", "  ", "\n", "1024", "-7", "1e3", "nan", "inf", "kB",
                      "(", ")", "S", "R", "é", "x", "0", "12345678901234567890", "\t"]
        var r = TestRandom()
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...40, using: &r)).map { _ in pieces.randomElement(using: &r)! }.joined()
            #expect(SystemMemory.parse(meminfo: text) == meminfoByCharacters(text), "\(text.debugDescription) \(r)")
            // As text: nan is no nan's equal.
            #expect("\(parseLoadAverage(text) as Double?)" == "\(text.split(separator: " ").first.flatMap { Double($0) })", "\(text.debugDescription) \(r)")
            let stat = (0..<Int.random(in: 0...30, using: &r)).map { _ in ["7", " ", "(", ")", "a b", "S", "R", "-1", "é", "99999999999999999999"].randomElement(using: &r)! }.joined()
            #expect(ProcessStat.parse(stat) == statByCharacters(stat), "\(stat.debugDescription) \(r)")
        }
        let line = "42 (a (weird) name) S 1 42 42 0 -1 0 0 0 0 0 5 6 0 0 20 0 3 0 100 1000 77 0"
        #expect(ProcessStat.parse(line) == statByCharacters(line) && ProcessStat.parse(line) != nil)
    }

    @Test("GPU figures from a fake nvidia-smi replaying the H200 capture match it")
    func fakeSmi() throws {
        let s = Scratch()
        let bin = try FakeNvidiaSmi.install(in: s)
        let pidfile = s.file("child.pid")
        // The child also prints llama.cpp's perf line, so tokens per joule can be worked out.
        let perf = "common_perf_print:        eval time =      10.98 ms /    63 runs   (    0.17 ms per token,  5738.23 tokens per second)"
        let r = try airun(["-q", "--sample-interval", "200ms", "--", "sh", "-c", "echo $$ > \(pidfile); sleep 1.5; echo '\(perf)' >&2"],
                          environment: ["PATH": bin + ":/usr/bin:/bin", "FAKE_SMI_PIDFILE": pidfile], scratch: s)
        #expect(r.exitCode == 0)
        let end = try #require(r.records("attempt.end").first)
        let lines = FakeNvidiaSmi.captured()
        #expect(end["peak_gpu_memory_used_mb"] as? Double == lines.map(\.2).max())
        #expect(end["mean_gpu_utilization_percent"] as? Double == lines.map(\.1).reduce(0, +) / Double(lines.count))
        #expect(abs((end["peak_gpu_power_w"] as? Double ?? 0) - lines.map(\.3).max()!) <= 0.1)
        var energy = 0.0
        for (a, b) in zip(lines, lines.dropFirst()) { energy += (a.3 + b.3) / 2 * (b.0 - a.0) }
        let measured = try #require(end["gpu_energy_joules"] as? Double)
        #expect(abs(measured - energy) <= 0.5, "energy \(measured) vs \(energy) from the capture")
        #expect(end["peak_child_gpu_memory_mb"] as? Double == 25668)
        #expect(!r.stderr.contains("warning"))
        let tpj = try #require(end["tokens_per_joule"] as? Double)
        #expect(abs(tpj - 64 / measured) < 0.001)
    }

    @Test("a failure's context has the free GPU memory of the attempt's last reading")
    func gpuMemoryAvailable() throws {
        let s = Scratch()
        let bin = try FakeNvidiaSmi.install(in: s)
        let r = try airun(["-q", "--sample-interval", "200ms", "--", "sh", "-c", "sleep 1.2; exit 1"],
                          environment: ["PATH": bin + ":/usr/bin:/bin"], scratch: s)
        let context = try #require(r.records("error").first?["context"] as? [String: Any])
        #expect((context["gpu_memory_available_mb"] as? NSNumber)?.intValue == 143771 - 25677)  // memory.total - memory.used in the capture
        let noGPU = try airun(["-q", "--no-gpu", "--", "sh", "-c", "exit 1"])
        #expect((noGPU.records("error").first?["context"] as? [String: Any])?["gpu_memory_available_mb"] is NSNull)
    }

    /// Builds Tests/tools/fake-nvml.c into a shared library in the scratch directory.
    static func fakeNVML(in s: Scratch) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/fake-nvml.c").path
        let library = s.file("libfake-nvml.so")
        let cc = try AirunProcess.start(["-q", "--log-dir", s.file("cc-logs"), "--", "cc", "-shared", "-fPIC", "-o", library, source],
                                        scratch: Scratch()).wait()
        try #require(cc.exitCode == 0, "cannot build the fake NVML: \(cc.stderr.prefix(200))")
        return library
    }

    /// The memory figures the real H200 showed (bench/results/gpu-device-2026-12-04-2-probed.txt): NVML's
    /// v1 query counts 615 MiB of reserved memory as used where nvidia-smi (v2) does not, and the
    /// energy counter costs ~4 ms of CPU a read, so it is read at the first sample and the end only.
    @Test("NVML first: a fake libnvidia-ml with the H200's figures, loaded with dlopen; memory as nvidia-smi counts it, energy read twice",
          Requirement.compilerTrait, arguments: [false, true])
    func nvml(memoryV2Fails: Bool) throws {
        let s = Scratch()
        let library = try Self.fakeNVML(in: s)
        let bin = try FakeNvidiaSmi.install(in: s)  // present too: NVML must win over it
        let (pidfile, calls) = (s.file("child.pid"), s.file("calls"))
        var environment = ["AIRUN_NVML_LIBRARY": library, "FAKE_NVML_PIDFILE": pidfile, "FAKE_NVML_INITLOG": calls,
                           "PATH": bin + ":/usr/bin:/bin"]
        if memoryV2Fails { environment["FAKE_NVML_MEMORY_V2"] = "fail" }
        let r = try airun(["-q", "--sample-interval", "200ms", "--", "sh", "-c", "echo $$ > \(pidfile); sleep 1.2"],
                          environment: environment, scratch: s)
        let end = try #require(r.records("attempt.end").first)
        // v1, where v2 is missing, can only say used-with-reserved.
        #expect(end["peak_gpu_memory_used_mb"] as? Double == Double(memoryV2Fails ? 25677 + 615 : 25677))
        #expect(end["peak_child_gpu_memory_mb"] as? Double == 25668)
        #expect(end["mean_gpu_utilization_percent"] as? Double == 98)
        // Energy from the counter: about 690 W over the ~1.1 s from the first sample to the end.
        let energy = try #require(end["gpu_energy_joules"] as? Double)
        #expect(energy > 400 && energy < 1000, "\(energy)")
        let samples = try #require(end["sample_count"] as? Int)
        let energyReads = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").filter { $0 == "energy" }.count
        #expect(samples >= 4 && energyReads == 3, "the probe, the first sample and the end: \(energyReads) reads for \(samples) samples")
    }

    /// `--gpu-backend`, with the fake NVML present or not and the fake nvidia-smi always on PATH:
    /// which backend's figures the attempt carries, and whether airun warns.
    @Test("--gpu-backend forces a backend: NVML's figures, nvidia-smi's, or none with one warning", Requirement.compilerTrait,
          arguments: [("auto", true, "nvml"), ("nvml", true, "nvml"), ("nvidia-smi", true, "nvidia-smi"),
                      ("auto", false, "nvidia-smi"), ("nvml", false, "none"), ("nvidia-smi", false, "nvidia-smi")])
    func forcedBackend(backend: String, nvmlPresent: Bool, expected: String) throws {
        let s = Scratch()
        let library = nvmlPresent ? try Self.fakeNVML(in: s) : s.file("no-such-libnvidia-ml.so.1")
        let bin = try FakeNvidiaSmi.install(in: s)
        let pidfile = s.file("child.pid")
        let r = try airun(["--gpu-backend", backend, "--sample-interval", "200ms", "--", "sh", "-c", "echo $$ > \(pidfile); sleep 1.2; echo done"],
                          environment: ["AIRUN_NVML_LIBRARY": library, "FAKE_NVML_PIDFILE": pidfile, "FAKE_SMI_PIDFILE": pidfile,
                                        "PATH": bin + ":/usr/bin:/bin"], scratch: s)
        #expect(r.exitCode == 0 && r.stdoutText == "done\n")
        let end = try #require(r.records("attempt.end").first)
        let utilization = end["mean_gpu_utilization_percent"] as? Double
        let smiMean = FakeNvidiaSmi.captured().map(\.1).reduce(0, +) / Double(FakeNvidiaSmi.captured().count)
        try #require(smiMean != 98, "the two fakes must differ to tell the backends apart")
        switch expected {
        case "nvml":
            #expect(utilization == 98, "NVML's figure, not nvidia-smi's: \(String(describing: utilization))")
            #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        case "nvidia-smi":
            #expect(utilization == smiMean, "nvidia-smi's figure: \(String(describing: utilization))")
            #expect(end["peak_child_gpu_memory_mb"] as? Double == 25668)
            #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        default:
            #expect(end["peak_gpu_memory_used_mb"] is NSNull && end["mean_gpu_utilization_percent"] is NSNull)
            #expect(r.stderr.components(separatedBy: "warning: GPU sampling unavailable: NVML").count == 2, "one warning: \(r.stderr)")
        }
    }

    /// The defect a real H200 showed (bench/results/gpu-device-2026-12-04-1-crash.txt): a static airun
    /// with AIRUN_NVML_STATIC=1 died of SIGFPE inside dlopen, mid-run, orphaning its child. A
    /// library that may crash is now loaded in a throw-away child first; the fake one here dies
    /// of SIGFPE at init or at the process query, as the real one did.
    @Test("an NVML that crashes is probed in a child, never loaded: the run unharmed, nvidia-smi's figures or none, one warning, one probe a run",
          Requirement.compilerTrait, arguments: [("init", "auto"), ("processes", "auto"), ("init", "nvml"), ("hang", "auto")])
    func crashingNVML(crashAt: String, backend: String) throws {
        let s = Scratch()
        let library = try Self.fakeNVML(in: s)
        let bin = try FakeNvidiaSmi.install(in: s)
        let (pidfile, initLog) = (s.file("child.pid"), s.file("inits"))
        let r = try airun(["--gpu-backend", backend, "--retries", "2", "--sample-interval", "200ms", "--",
                           "sh", "-c", "echo $$ > \(pidfile); sleep 0.8; echo done; exit 3"],
                          environment: ["AIRUN_NVML_LIBRARY": library, "FAKE_NVML_CRASH": crashAt, "FAKE_NVML_INITLOG": initLog,
                                        "FAKE_NVML_PIDFILE": pidfile, "FAKE_SMI_PIDFILE": pidfile, "PATH": bin + ":/usr/bin:/bin"],
                          scratch: s)
        #expect(r.exitCode == 3 && r.stdoutText == "done\ndone\n", "\(r.stderr)")
        let ends = r.records("attempt.end")
        #expect(ends.count == 2)
        // One probe for the run: the second attempt trusts the first's verdict.
        let inits = try String(contentsOfFile: initLog, encoding: .utf8).split(separator: "\n").filter { $0 == "init" }
        #expect(inits.count == 1, "\(inits)")
        let warning = crashAt == "hang" ? "NVML did not start within 10 s in a test process" : "NVML killed a test process with SIGFPE"
        #expect(r.stderr.components(separatedBy: warning).count == 2, "one warning: \(r.stderr)")
        #expect(!r.stderr.contains("Backtrace") && !r.stderr.contains("Fatal error"), "\(r.stderr)")
        let utilization = ends.last?["mean_gpu_utilization_percent"] as? Double
        if backend == "auto" {
            let smi = FakeNvidiaSmi.captured().map(\.1)
            #expect(utilization == smi.reduce(0, +) / Double(smi.count), "nvidia-smi's figures: \(String(describing: utilization))")
            #expect(r.stderr.contains("; GPU figures from nvidia-smi"))
        } else {
            #expect(utilization == nil && ends.last?["peak_gpu_memory_used_mb"] is NSNull)
            #expect(r.stderr.contains("warning: GPU sampling unavailable: NVML killed a test process"))
        }
    }

    /// nvmlInit takes ~12 ms on an H200, the probe's child up to its 10 s alarm, and a broken
    /// driver can hang it for good: NVML opens off the poll loop. Here it answers only once the
    /// command's line, printed after the first sample began opening it, has come through airun;
    /// opened on the loop, the line waited for the probe's alarm, and NVML was given up.
    @Test("an NVML slow to start holds up neither the command's output nor its end; its figures come once it answers",
          Requirement.compilerTrait)
    func slowNVML() throws {
        let s = Scratch()
        let library = try Self.fakeNVML(in: s)
        let (pidfile, release) = (s.file("child.pid"), s.file("release"))
        let p = try AirunProcess.start(["--gpu-backend", "nvml", "--sample-interval", "200ms", "--", "sh", "-c",
                                        "echo $$ > \(pidfile); sleep 0.5; echo first; while [ ! -e \(release) ]; do sleep 0.05; done; sleep 0.8; echo done"],
                                       scratch: s, environment: ["AIRUN_NVML_LIBRARY": library, "FAKE_NVML_INIT_WAIT": release,
                                                                 "FAKE_NVML_PIDFILE": pidfile])
        let passed = eventually(within: 60) { (try? String(contentsOfFile: s.file("stdout"), encoding: .utf8))?.contains("first") == true }
        FileManager.default.createFile(atPath: release, contents: nil)
        let r = try p.wait()
        #expect(passed, "airun passed nothing through while NVML was starting")
        #expect(r.exitCode == 0 && r.stdoutText == "first\ndone\n", "\(r.stderr)")
        #expect(!r.stderr.contains("warning"), "NVML was waited for, not given up: \(r.stderr)")
        let end = try #require(r.records("attempt.end").first)
        #expect(end["mean_gpu_utilization_percent"] as? Double == 98, "NVML's figures once it answered")
        #expect(end["peak_child_gpu_memory_mb"] as? Double == 25668)
    }

    /// A driver whose init hangs in airun's own process (the probe's went through): the run ends
    /// with its command, and airun ends without running the library's unload, which here waits for
    /// the hung init (exit(3) would have held airun, and its status, for good).
    /// With `auto`, an attempt that outlasts the probe's 10 s has nvidia-smi's figures after them.
    @Test("an NVML that hangs in airun's own process holds neither the run nor airun's exit; nvidia-smi after 10 s",
          Requirement.compilerTrait, arguments: [("nvml", 0.6), ("auto", 11.5)])
    func hungNVML(backend: String, seconds: Double) throws {
        let s = Scratch()
        let library = try Self.fakeNVML(in: s)
        let bin = try FakeNvidiaSmi.install(in: s)
        let (inits, pidfile) = (s.file("inits"), s.file("child.pid"))
        let p = try AirunProcess.start(["--gpu-backend", backend, "--sample-interval", "100ms", "--", "sh", "-c",
                                        "echo $$ > \(pidfile); sleep \(seconds); echo done; exit 3"],
                                       scratch: s, environment: ["AIRUN_NVML_LIBRARY": library, "FAKE_NVML_HANG": "second", "FAKE_NVML_INITLOG": inits,
                                                                 "FAKE_SMI_PIDFILE": pidfile, "PATH": bin + ":/usr/bin:/bin"])
        let ended = eventually(within: 60) { !processExists(p.pid) }
        if !ended { kill(p.pid, SIGKILL) }
        let r = try p.wait()
        #expect(ended, "airun did not end after its command")
        #expect(r.exitCode == 3 && r.stdoutText == "done\n", "\(r.stderr)")
        let initLines = try String(contentsOfFile: inits, encoding: .utf8).split(separator: "\n").filter { $0 == "init" }
        #expect(initLines.count == 1, "the probe's init went through, airun's own hung: \(initLines)")
        let end = try #require(r.records("attempt.end").first)
        if backend == "auto" {
            #expect(r.stderr.components(separatedBy: "NVML did not answer within 10 s; GPU figures from nvidia-smi").count == 2, "\(r.stderr)")
            #expect(end["peak_gpu_memory_used_mb"] as? Double == 25677, "nvidia-smi's figures")
        } else {
            #expect(end["peak_gpu_memory_used_mb"] is NSNull, "no GPU figures from an NVML that never answered")
        }
    }

    @Test("nvidia-smi failure modes: no GPU figures, one warning, the run unharmed", arguments: ["invalid", "nodevices", "dies"])
    func smiFailures(mode: String) throws {
        let s = Scratch()
        let bin = try FakeNvidiaSmi.install(in: s)
        let r = try airun(["--sample-interval", "100ms", "--", "sh", "-c", "sleep 0.6; echo done; exit 3"],
                          environment: ["PATH": bin + ":/usr/bin:/bin", "FAKE_SMI_MODE": mode], scratch: s)
        #expect(r.exitCode == 3)
        #expect(r.stdoutText == "done\n")
        #expect(r.stderr.components(separatedBy: "warning: GPU sampling").count == 2, "exactly one warning: \(r.stderr)")
        let end = try #require(r.records("attempt.end").first)
        if mode == "dies" {
            #expect(end["peak_gpu_memory_used_mb"] as? Double == 25677)
        } else {
            #expect(end["peak_gpu_memory_used_mb"] is NSNull)
            #expect(end["mean_gpu_utilization_percent"] is NSNull)
        }
        #expect((end["sample_count"] as? Int ?? 0) >= 1)
    }

    @Test("a hung nvidia-smi that ignores SIGTERM neither delays the end of the run nor blocks Ctrl-C")
    func hungSmi() throws {
        let s = Scratch()
        let bin = try FakeNvidiaSmi.install(in: s)
        let env = ["PATH": bin + ":/usr/bin:/bin", "FAKE_SMI_MODE": "hangs"]
        let started = Date()
        let r = try airun(["--sample-interval", "100ms", "--", "sh", "-c", "sleep 0.6; echo done"], environment: env, scratch: s)
        #expect(r.exitCode == 0 && r.stdoutText == "done\n")
        // The fake sleeps 30 s whatever it is sent but SIGKILL; the run ends with its child.
        #expect(Date().timeIntervalSince(started) < 10, "airun waited for nvidia-smi")

        let p = try AirunProcess.start(["--sample-interval", "100ms", "--", "sleep", "20"], environment: env)
        usleep(800_000)
        kill(p.pid, SIGINT)
        let interrupted = try p.wait()
        #expect(interrupted.status == .signaled(Signal(SIGINT), coreDumped: false))
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test("airun gpu: a table and JSON from the replayed H200 capture; no GPU is not an error")
    func gpuCommand() throws {
        let s = Scratch()
        let bin = try FakeNvidiaSmi.install(in: s)
        let env = ["PATH": bin + ":/usr/bin:/bin"]
        let table = try airun(["gpu"], environment: env, scratch: s)
        #expect(table.exitCode == 0)
        #expect(table.stdoutText.contains("NVIDIA H200") && table.stdoutText.contains("0 / 143771 MiB"))
        #expect(table.stdoutText.contains("659") && table.stdoutText.contains("25668 MiB"))
        let json = try airun(["gpu", "--json"], environment: env, scratch: s)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let gpu = try #require((object["gpus"] as? [[String: Any]])?.first)
        #expect(gpu["memory_total_mb"] as? Double == 143771 && gpu["name"] as? String == "NVIDIA H200")
        #expect(gpu["power_w"] as? Double == 80.16 && gpu["temperature_c"] as? Double == 33)
        let none = try airun(["gpu"], environment: ["PATH": "/usr/bin:/bin"], scratch: s)
        #expect(none.exitCode == 0 && none.stdoutText.hasPrefix("no NVIDIA GPU"))
    }

    @Test("--samples writes sample records")
    func sampleRecords() throws {
        let r = try airun(["-q", "--no-gpu", "--samples", "--sample-interval", "100ms", "--", "sleep", "0.5"])
        let samples = r.records("sample")
        #expect(samples.count >= 3)
        #expect(samples.allSatisfy { ($0["rss_mb"] as? Double ?? 0) > 0 })
    }

    @Test("the status line appears on a terminal and is erased; never on a pipe", Requirement.scriptTrait)
    func statusLine() throws {
        let script = Requirement.script
        let s = Scratch()
        let typescript = s.file("typescript")
        let cmd = "\(Airun.path) --no-gpu --log-dir \(s.file("l")) --sample-interval 100ms -- sh -c 'sleep 1.3; echo out'"
        let r = try AirunProcess.start(["-q", "--tty", "never", "--", script, "-qec", cmd, typescript], scratch: s,
                                       environment: ["TERM": "xterm"]).wait()
        #expect(r.exitCode == 0)
        let screen = try String(contentsOfFile: typescript, encoding: .utf8)
        // The airun under test runs inside the harness's airun: a nested run, so its lines say `airun[1]:`.
        #expect(screen.contains("airun[1]: 0s  rss ") || screen.contains("airun[1]: 1s  rss "), "\(screen.debugDescription)")
        #expect(screen.contains("\r\u{1B}[2K"))
        let piped = try airun(["--no-gpu", "--sample-interval", "100ms", "--", "sleep", "0.4"])
        #expect(!piped.stderr.contains("rss "))
    }
}
