/// The last component of a path (`/usr/bin/llama-cli` → `llama-cli`): how a command or a model
/// file is named where a path would be too long or too many (metrics labels, span names, stats).
public func fileName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
