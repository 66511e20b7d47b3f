/// The profiles of the repository's `profiles/` folder, compiled into the binary by the build
/// (Package.swift embeds the folder), so that a binary copied anywhere still has them. Files of
/// the same name in the user's or the system's profile directories override them.
///
/// - Important: a new file in `profiles/` needs its line here; `ShippedProfileTests` fails until
///   every file is listed with the bytes the build embedded.
enum ShippedProfiles {
    static let all: [(name: String, text: [UInt8])] = [
        ("default", PackageResources.default_toml),
        ("llama-completion", PackageResources.llama_completion_toml),
        ("llama-cli", PackageResources.llama_cli_toml),
        ("ai-router", PackageResources.ai_router_toml),
        ("llama-server", PackageResources.llama_server_toml),
    ]

    static func text(_ name: String) -> [UInt8]? { all.first { $0.name == name }?.text }
}
