import AirunCore
import AirunSystem

/// Where a profile came from: a file, or the copy of `profiles/NAME.toml` built into airun.
enum ProfileLocation: Equatable, CustomStringConvertible {
    case file(String)
    case builtIn(String)

    var description: String {
        switch self {
        case .file(let path): path
        case .builtIn(let name): "built-in copy of profiles/\(name).toml"
        }
    }
}

/// Finds profiles: `--profile NAME|PATH`, then `$AIRUN_PROFILE` where a person set it, then the
/// command's name (`llama-cli`; `python3 ai-router.py` → `ai-router`), then `default`; each name
/// looked for as `NAME.toml` in `$AIRUN_PROFILE_PATH` (colon-separated), the user's
/// `$XDG_CONFIG_HOME/airun/profiles` (`~/.config/airun/profiles`), the system's
/// `DIR/airun/profiles` for each DIR of `$XDG_DATA_DIRS` (`/usr/local/share:/usr/share`), and
/// last among the profiles built into airun.
struct ProfileLocator {
    let environment: [String: String]
    /// Where profile files are looked for, in order, before the built-in ones.
    let directories: [String]

    init(environment: [String: String]) {
        self.environment = environment
        directories = Self.searchDirectories(environment)
    }

    static func searchDirectories(_ environment: [String: String]) -> [String] {
        var dirs: [String] = []
        if let path = environment[Setting.profilePath.variable] { dirs += splitUTF8(path, at: UInt8(ascii: ":")) }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            dirs.append(xdg + "/airun/profiles")
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            dirs.append(home + "/.config/airun/profiles")
        }
        // The XDG base directory rules: relative entries are ignored, an unset or empty value
        // means /usr/local/share:/usr/share.
        let data = environment["XDG_DATA_DIRS"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/share:/usr/share"
        // Not `dir +` a Substring: String + Substring is generic code that scans every protocol
        // conformance in the binary at its first use (~75,000 instructions of a run's start).
        for dir in splitUTF8(data, at: UInt8(ascii: ":")) where dir.hasPrefix("/") { dirs.append(dir + "/airun/profiles") }
        return dirs
    }

    /// The profile name a person chose through the environment, if any. An enclosing airun
    /// exports the profile it runs under as both `AIRUN_PROFILE` and `AIRUN_PROFILE_EXPORTED`:
    /// that tells its child which policy it runs under and is no choice for a nested airun, which
    /// picks its own by its own command. A value that differs from the exported one was set by
    /// someone on purpose (`AIRUN_PROFILE=x airun -- ...` inside the router) and is honoured.
    var environmentChoice: String? {
        guard let chosen = environment[Setting.profile.variable], !chosen.isEmpty else { return nil }
        return chosen == environment["AIRUN_PROFILE_EXPORTED"] ? nil : chosen
    }

    /// The name a command's own profile would have.
    static func commandName(_ command: [String]) -> String {
        func stem(_ path: String) -> String {
            let base = fileName(path)
            if let dot = base.lastIndex(of: "."), dot != base.startIndex { return String(base[..<dot]) }
            return base
        }
        let program = fileName(command[0])
        // `env [-i] [-u NAME] [NAME=VALUE]... COMMAND`: the command env runs is the one that counts.
        if program == "env" {
            var rest = command.dropFirst()
            while let a = rest.first, a.hasPrefix("-") || a.contains("=") {
                rest = rest.dropFirst(a == "-u" || a == "--unset" || a == "-C" || a == "--chdir" ? 2 : 1)
            }
            if !rest.isEmpty { return commandName(Array(rest)) }
        }
        let interpreters = ["python", "python3", "node", "bash", "sh", "ruby", "perl", "uv", "pypy3"]
        if interpreters.contains(program) || program.hasPrefix("python3."), let script = command.dropFirst().first(where: { !$0.hasPrefix("-") }) {
            return stem(script)
        }
        // A script run directly (`./ai-router.py`) is named as when run by its interpreter.
        return stem(program)
    }

    /// `name`'s profile in the first of `directories` (by default all of them) that has it.
    func find(_ name: String, in directories: [String]? = nil) -> ProfileLocation? {
        for dir in directories ?? self.directories where isRegularFile("\(dir)/\(name).toml") { return .file("\(dir)/\(name).toml") }
        return ShippedProfiles.text(name) == nil ? nil : .builtIn(name)
    }

    /// The profile for this run. An explicitly named profile that does not exist is an error;
    /// a command without a profile of its own gets `default`, or built-in defaults without one.
    func resolve(explicit: String?, command: [String]) throws(ProfileError) -> Profile {
        if let explicit = explicit ?? environmentChoice {
            if explicit.contains("/") || explicit.hasSuffix(".toml") {
                return try load(.file(explicit), name: Self.commandName([explicit]))
            }
            guard let location = find(explicit) else {
                throw ProfileError(file: explicit, position: nil, message: "no profile named '\(explicit)'",
                                   hint: "looked in \((directories + ["the built-in profiles"]).joined(separator: ", ")); "
                                       + "airun profile list shows what exists")
            }
            return try load(location, name: explicit)
        }
        // Two names in each directory: those that do not exist (most, on most machines) are
        // looked at once, not once per name (each look is a system call of every run).
        let present = directories.filter(isDirectory)
        let own = Self.commandName(command)
        if let location = find(own, in: present) { return try load(location, name: own) }
        if let location = find("default", in: present) { return try load(location, name: "default") }
        return Profile()
    }

    func load(_ location: ProfileLocation, name: String) throws(ProfileError) -> Profile {
        // Most commands run under the shipped default: built directly, a run of `true` in a loop
        // pays no TOML parse for it (a test holds it equal to the file's decode).
        if case .builtIn("default") = location, name == "default" { return Self.shippedDefault }
        let text = switch location {
        case .builtIn(let builtIn): String(decoding: ShippedProfiles.text(builtIn) ?? [], as: UTF8.self)
        case .file(let path): try readSettingsFile(path, kind: "profile")
        }
        return try Profile.decode(text, name: name, file: location.description)
    }

    /// profiles/default.toml as `Profile.decode` reads it.
    static var shippedDefault: Profile {
        var p = Profile(name: "default", source: ProfileLocation.builtIn("default").description)
        p.description = "one attempt; a failure is recorded and classified, not retried"
        p.retry.attempts = 1
        p.killAfter = .seconds(10)
        p.captureBytes = 64 << 10
        return p
    }

    /// Every profile found, first occurrence of each name winning, with what it overrides.
    func list() -> [(name: String, location: ProfileLocation, overrides: Bool)] {
        var seen: Set<String> = []
        var out: [(String, ProfileLocation, Bool)] = []
        for dir in directories {
            for file in directoryEntries(dir) where file.hasSuffix(".toml") {
                let name = String(file.dropLast(5))
                if seen.insert(name).inserted { out.append((name, .file("\(dir)/\(file)"), ShippedProfiles.text(name) != nil)) }
            }
        }
        for name in ShippedProfiles.names where seen.insert(name).inserted { out.append((name, .builtIn(name), false)) }
        return out
    }
}
