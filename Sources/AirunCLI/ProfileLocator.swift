import AirunCore
import AirunSystem

/// Finds profiles: `--profile NAME|PATH`, then `$AIRUN_PROFILE`, then the command's name
/// (`llama-cli`; `python3 ai-router.py` → `ai-router`), then `default`; each name looked for as
/// `NAME.toml` in `$AIRUN_PROFILE_PATH` (colon-separated), `$XDG_CONFIG_HOME/airun/profiles`
/// (`~/.config/airun/profiles`), and the profiles shipped with airun.
struct ProfileLocator {
    let environment: [String: String]
    /// Where profiles are looked for, in order; worked out once (it reads /proc/self/exe and stats).
    let directories: [String]

    init(environment: [String: String]) {
        self.environment = environment
        directories = Self.searchDirectories(environment)
    }

    static func searchDirectories(_ environment: [String: String]) -> [String] {
        var dirs: [String] = []
        if let path = environment["AIRUN_PROFILE_PATH"] { dirs += path.split(separator: ":").map(String.init) }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            dirs.append(xdg + "/airun/profiles")
        } else if let home = environment["HOME"], !home.isEmpty {
            dirs.append(home + "/.config/airun/profiles")
        }
        if let shipped = shippedDirectory() { dirs.append(shipped) }
        return dirs
    }

    /// `<prefix>/share/airun/profiles` beside an installed binary, or the `profiles/` of the
    /// source tree a development build lives in.
    static func shippedDirectory() -> String? {
        guard let exe = executablePath() else { return nil }
        var dir = String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
        let installed = dir + "/../share/airun/profiles"
        if isRegularFile(installed + "/default.toml") { return installed }
        for _ in 0..<6 {
            if isRegularFile(dir + "/Package.swift"), isRegularFile(dir + "/profiles/default.toml") { return dir + "/profiles" }
            guard let slash = dir.lastIndex(of: "/"), slash != dir.startIndex else { break }
            dir = String(dir[..<slash])
        }
        return nil
    }

    /// The name a command's own profile would have.
    static func commandName(_ command: [String]) -> String {
        func stem(_ path: String) -> String {
            let base = path.split(separator: "/").last.map(String.init) ?? path
            if let dot = base.lastIndex(of: "."), dot != base.startIndex { return String(base[..<dot]) }
            return base
        }
        let program = command[0].split(separator: "/").last.map(String.init) ?? command[0]
        let interpreters = ["python", "python3", "node", "bash", "sh", "ruby", "perl", "uv", "pypy3"]
        if interpreters.contains(program) || program.hasPrefix("python3."), let script = command.dropFirst().first(where: { !$0.hasPrefix("-") }) {
            return stem(script)
        }
        return program
    }

    func find(_ name: String) -> String? {
        for dir in directories where isRegularFile("\(dir)/\(name).toml") { return "\(dir)/\(name).toml" }
        return nil
    }

    /// The profile for this run. An explicitly named profile that does not exist is an error;
    /// a command without a profile of its own gets `default`, or built-in defaults without one.
    func resolve(explicit: String?, command: [String]) throws(ProfileError) -> Profile {
        if let explicit = explicit ?? environment["AIRUN_PROFILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            if explicit.contains("/") || explicit.hasSuffix(".toml") { return try load(explicit, name: Self.commandName([explicit])) }
            guard let path = find(explicit) else {
                throw ProfileError(file: explicit, position: nil, message: "no profile named '\(explicit)'",
                                   hint: "looked in \(directories.joined(separator: ", ")); airun profile list shows what exists")
            }
            return try load(path, name: explicit)
        }
        let own = Self.commandName(command)
        if let path = find(own) { return try load(path, name: own) }
        if let path = find("default") { return try load(path, name: "default") }
        return Profile()
    }

    func load(_ path: String, name: String) throws(ProfileError) -> Profile {
        guard let bytes = readSmallFile(path, limit: 1 << 20) else {
            throw ProfileError(file: path, position: nil, message: "cannot read the profile file")
        }
        return try Profile.decode(String(decoding: bytes, as: UTF8.self), name: name, file: path)
    }

    /// Every profile found, first occurrence of each name winning.
    func list() -> [(name: String, path: String)] {
        var seen: Set<String> = []
        var out: [(String, String)] = []
        for dir in directories {
            for file in directoryEntries(dir) where file.hasSuffix(".toml") {
                let name = String(file.dropLast(5))
                if seen.insert(name).inserted { out.append((name, "\(dir)/\(file)")) }
            }
        }
        return out
    }
}
