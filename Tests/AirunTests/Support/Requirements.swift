import Foundation
import Testing

/// Tools some tests need that a machine may lack. Without one, those tests are reported as
/// skipped (a conditional trait), never as passed; where CI sets the tool's AIRUN_REQUIRE_*
/// variable to 1, they run anyway and fail, so nothing is skipped there by accident.
enum Requirement {
    static func required(_ variable: String) -> Bool { ProcessInfo.processInfo.environment[variable] == "1" }

    /// The first `name` on PATH.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// script(1) (bsdutils), for pseudo-terminal tests; required with AIRUN_REQUIRE_TERMINAL=1.
    static let script = "/usr/bin/script"
    static var scriptTrait: ConditionTrait {
        .enabled(if: FileManager.default.isExecutableFile(atPath: script) || required("AIRUN_REQUIRE_TERMINAL"),
                 "script(1) is not installed (apt-get install bsdutils)")
    }

    /// A shell for the completion tests (fish, zsh); required with AIRUN_REQUIRE_TERMINAL=1.
    static func shellTrait(_ name: String) -> ConditionTrait {
        .enabled(if: which(name) != nil || required("AIRUN_REQUIRE_TERMINAL"), "\(name) is not installed (apt-get install \(name))")
    }

    /// A C compiler, for the fake NVML library; required with AIRUN_REQUIRE_LLAMA=1 (CI builds llama.cpp with it).
    static var compilerTrait: ConditionTrait {
        .enabled(if: which("cc") != nil || required("AIRUN_REQUIRE_LLAMA"), "no C compiler (apt-get install gcc)")
    }

    /// detect-secrets, the independent scanner; required with AIRUN_REQUIRE_DETECT_SECRETS=1.
    static var detectSecretsTrait: ConditionTrait {
        .enabled(if: which("detect-secrets") != nil || required("AIRUN_REQUIRE_DETECT_SECRETS"),
                 "detect-secrets is not installed (pip install detect-secrets)")
    }

    /// Headless Chromium, for the HTML report; required with AIRUN_REQUIRE_CHROMIUM=1.
    static var chromium: String? { which("chromium") ?? which("chromium-browser") }
    static var chromiumTrait: ConditionTrait {
        .enabled(if: chromium != nil || required("AIRUN_REQUIRE_CHROMIUM"), "Chromium is not installed (apt-get install chromium)")
    }

    /// The real llama.cpp build and tiny model; required with AIRUN_REQUIRE_LLAMA=1.
    static var llamaTrait: ConditionTrait {
        .enabled(if: Llama.available || required("AIRUN_REQUIRE_LLAMA"),
                 "no llama.cpp build (run Tests/tools/build-llama.sh and make-tiny-gguf.py, or .ci/run)")
    }

    /// Debian's prometheus (promtool, the server), prometheus-node-exporter and
    /// prometheus-pushgateway; required with AIRUN_REQUIRE_PROMETHEUS=1.
    static var prometheusTrait: ConditionTrait {
        .enabled(if: ["promtool", "prometheus", "prometheus-node-exporter", "prometheus-pushgateway", "curl"].allSatisfy { which($0) != nil }
                    || required("AIRUN_REQUIRE_PROMETHEUS"),
                 "Prometheus tools are not installed (apt-get install prometheus prometheus-node-exporter prometheus-pushgateway curl)")
    }

    /// Python with opentelemetry-proto, for the OTLP receiver; required with AIRUN_REQUIRE_OTLP=1.
    static let otlpAvailable: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import opentelemetry.proto.collector.trace.v1.trace_service_pb2"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()
    static var otlpTrait: ConditionTrait {
        .enabled(if: otlpAvailable || required("AIRUN_REQUIRE_OTLP"), "opentelemetry-proto is not installed (pip install opentelemetry-proto)")
    }
}
