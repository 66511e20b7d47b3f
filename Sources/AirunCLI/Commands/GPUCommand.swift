import AirunCore
import AirunSystem

/// `airun gpu [--json]`: a one-shot snapshot of the NVIDIA GPUs (devices, memory, utilization,
/// power, temperature) and the processes using them, from nvidia-smi.
enum GPUCommand {
    /// The field list whose output the test fixtures captured on an H200.
    static let fields = "index,uuid,name,pci.bus_id,driver_version,utilization.gpu,utilization.memory,memory.total,memory.used,"
        + "memory.free,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem"

    static var description: CommandDescription<Bool> {
        CommandDescription(
            name: "gpu",
            summary: "a snapshot of the GPUs",
            about: "a snapshot of the NVIDIA GPUs and the processes using them, from nvidia-smi.",
            options: [Option(["--json"], nil, "one JSON object instead of a table") { json, _ in json = true }])
    }

    static let command = Subcommand(description, values: { false }, run: run)

    static func run(json: Bool) -> Int32 {
        func out(_ s: String) { try? FileDescriptor.standardOutput.writeAll(s) }
        guard case .found(let smi) = resolveExecutable("nvidia-smi", path: Environment.current()["PATH"]) else {
            out(json ? "{\"gpus\":[],\"processes\":[],\"note\":\"nvidia-smi not found\"}\n" : "no NVIDIA GPU: nvidia-smi is not on PATH\n")
            return 0
        }
        let (status, text) = captureOutput(smi, ["--query-gpu=" + fields, "--format=csv,noheader,nounits"])
        // index, name, utilization, memory used, memory total, power, temperature
        let rows: [[String]] = csvRows(text).filter { $0.count == 15 && Int($0[0]) != nil }.map { f in
            [f[0], f[2], f[5], f[8], f[7], f[11], f[10]]
        }
        guard status == 0, !rows.isEmpty else {
            let said = text.split(separator: "\n").first.map(String.init) ?? "exit status \(status)"
            out(json ? "{\"gpus\":[],\"processes\":[],\"note\":\(jsonString(said))}\n" : "no GPU figures: \(said)\n")
            return 0
        }
        let appsText = captureOutput(smi, ["--query-compute-apps=" + NvidiaSmi.appFields, "--format=csv,noheader,nounits"]).1
        let apps: [[String]] = csvRows(appsText).filter { $0.count >= 3 }
        if json {
            let redactor = Redactor()
            var gpus: [String] = []
            for r in rows {
                var g = JSONLine(redacting: redactor)
                g.add("index", Int(r[0]))
                g.add("name", r[1])
                g.add("utilization_percent", Double(r[2]))
                g.add("memory_used_mb", Double(r[3]))
                g.add("memory_total_mb", Double(r[4]))
                g.add("power_w", Double(r[5]))
                g.add("temperature_c", Double(r[6]))
                gpus.append(String(decoding: g.line().dropLast(), as: UTF8.self))
            }
            var procs: [String] = []
            for a in apps {
                var p = JSONLine(redacting: redactor)
                p.add("pid", Int(a[0]))
                p.add("name", a[1])
                p.add("used_memory_mb", Double(a[2]))
                procs.append(String(decoding: p.line().dropLast(), as: UTF8.self))
            }
            out("{\"gpus\":[\(gpus.joined(separator: ","))],\"processes\":[\(procs.joined(separator: ","))]}\n")
            return 0
        }
        out("GPU  NAME".padding(to: 30) + "UTIL   MEMORY USED / TOTAL    POWER    TEMP\n")
        for r in rows {
            let line = "\(r[0])    \(r[1])".padding(to: 30) + "\(r[2])%".padding(to: 7)
                + "\(r[3]) / \(r[4]) MiB".padding(to: 23) + "\(r[5]) W".padding(to: 9) + "\(r[6]) C\n"
            out(line)
        }
        out(apps.isEmpty ? "no processes using the GPU\n" : "\nPID      PROCESS             GPU MEMORY\n")
        for a in apps { out(a[0].padding(to: 9) + a[1].padding(to: 20) + "\(a[2]) MiB\n") }
        return 0
    }

    static func jsonString(_ s: String) -> String {
        var line = JSONLine(redacting: Redactor())
        line.add("v", s)
        let bytes = line.line()
        return String(decoding: bytes.dropFirst(5).dropLast(2), as: UTF8.self)
    }
}

/// Runs a helper program to completion and returns its exit status and stdout (stderr dropped).
func captureOutput(_ path: String, _ args: [String]) -> (Int32, String) {
    guard let pipe = try? FileDescriptor.pipe(), let null = try? FileDescriptor.openNull() else { return (-1, "") }
    defer { null.close(); pipe.read.close() }
    let pid = try? spawn(path: path, arguments: [path] + args, environment: Environment.current().entries,
                         configuration: SpawnConfiguration(standardInput: null, standardOutput: pipe.write, standardError: null))
    pipe.write.close()
    guard let pid else { return (-1, "") }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 8192)
    while true {
        let n = buf.withUnsafeMutableBytes { (try? pipe.read.read(into: $0.baseAddress!, count: $0.count)) ?? 0 }
        if n <= 0 { break }
        out += buf.prefix(n)
    }
    var status: Int32 = -1
    if case .exited(let code)? = try? waitForExit(pid).status { status = code }
    return (status, String(decoding: out, as: UTF8.self))
}

/// nvidia-smi's `csv,noheader` output as rows of trimmed fields.
func csvRows(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    for line in text.split(separator: "\n") {
        rows.append(line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() })
    }
    return rows
}
