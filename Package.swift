// swift-tools-version:6.0
import PackageDescription

// Settings applied to every Swift target: explicit imports keep Foundation out of the run path.
// In release builds, concrete generic types (`[Signal]`, `String?`) are made through their metadata
// accessors rather than by demangling their names at run time: the demangler was a sixth of the
// instructions of `airun -- /bin/true` (bench/overhead.sh).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
    // Each function in its own section, so the release link can place the ones a run uses together.
    .unsafeFlags(["-Xfrontend", "-function-sections"], .when(configuration: .release)),
]

let package = Package(
    name: "airun",
    products: [
        .executable(name: "airun", targets: ["airun"])
    ],
    targets: [
        // The libc calls Swift's Glibc module hides or cannot call (variadic, __USE_GNU), and the
        // fork/exec path that sets the parent-death signal inside the child. No logic beyond that.
        .target(name: "CAirunShims"),
        // The only Swift module that touches libc: each syscall wrapped once, errno and EINTR handled.
        .target(name: "AirunSystem", dependencies: ["CAirunShims", "AirunCore"], swiftSettings: swiftSettings),
        // Pure logic, no libc: trace context and records, failure classification, retry policy and
        // profiles, redaction, the regex engine, sampling figures, reading records back (logs,
        // trace, stats, report) and export formats (Prometheus, OTLP).
        .target(name: "AirunCore", swiftSettings: swiftSettings, plugins: ["CommitStamp"]),
        // Generates the commit `airun --version` prints, from the clone's .git.
        .plugin(name: "CommitStamp", capability: .buildTool()),
        // Options, the supervisor's event loop, console lines: wires Core to System.
        // `ShippedProfiles` is a link to the repository's profiles/: the build compiles those files
        // into the binary, so a copied binary has them (ShippedProfiles.swift lists them).
        .target(name: "AirunCLI", dependencies: ["AirunCore", "AirunSystem"],
                resources: [.embedInCode("ShippedProfiles")], swiftSettings: swiftSettings),
        .executableTarget(
            name: "airun", dependencies: ["AirunCLI"],
            // Release binaries are fully static: no dynamic loader, no libstdc++ relocations.
            // Measured: a dynamic-glibc Swift binary starts 1.2 ms slower than /bin/true, a fully
            // static one within noise of it (bench/overhead.sh). People wrap short commands in loops.
            // The link's "Using 'dlopen' in statically linked applications" warning is expected:
            // see Sources/CAirunShims/nvml.c.
            // The functions a short run executes (startup.order, written by bench/startup-order.sh)
            // are placed together, by the toolchain's lld: spread over 7 MB of code they were ~80
            // page faults of each run of `/bin/true`, together ~35 (~0.12 ms less a run).
            exclude: ["startup.order"],
            swiftSettings: swiftSettings,
            linkerSettings: [.unsafeFlags(["-static-executable", "-use-ld=lld",
                                           "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/airun/startup.order",
                                           "-Xlinker", "--no-warn-symbol-ordering"], .when(configuration: .release))]
        ),
        // Micro-benchmarks for bench/: redaction and classification of a 64 KiB tail.
        .executableTarget(name: "airun-bench", dependencies: ["AirunCore"], swiftSettings: swiftSettings),
        // The test runner's width (how many test cases at once), set before Swift Testing reads it.
        .target(name: "CAirunTestSupport"),
        .testTarget(
            name: "AirunTests",
            dependencies: ["AirunCore", "AirunSystem", "AirunCLI", "airun", "CAirunTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
