/// The profiles of the repository's `profiles/` folder, compiled into the binary by the build
/// (Package.swift embeds the folder), so that a binary copied anywhere still has them. Files of
/// the same name in the user's or the system's profile directories override them.
///
/// - Important: a new file in `profiles/` needs its line here; `ShippedProfileTests` fails until
///   every file is listed with the bytes the build embedded.
enum ShippedProfiles {
    static let names = ["default", "llama-completion", "llama-cli", "ai-router", "llama-server"]

    /// A switch, not a table of every profile: a run needs one (usually `default`), and building
    /// the table made each embedded file and a generic tuple-array type at start-up.
    static func text(_ name: String) -> [UInt8]? {
        switch name {
        case "default": PackageResources.default_toml
        case "llama-completion": PackageResources.llama_completion_toml
        case "llama-cli": PackageResources.llama_cli_toml
        case "ai-router": PackageResources.ai_router_toml
        case "llama-server": PackageResources.llama_server_toml
        default: nil
        }
    }
}
