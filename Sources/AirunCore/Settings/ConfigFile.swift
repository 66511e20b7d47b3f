/// The global configuration file's tables, `[log]` and `[export]`, read by the one table of
/// settings (`Setting.all`); anything else in the file is an error naming its line.
public struct ConfigFile: Sendable {
    public var log = LogSettings()
    public var export = ExportSettings()

    public init() {}

    public static func decode(_ text: String, file: String) throws(ProfileError) -> ConfigFile {
        let root: TOMLTable
        do { root = try parseTOML(text) } catch {
            throw ProfileError(file: file, position: error.position, message: error.message, hint: error.hint)
        }
        let d = TOMLDecoder(file: file)
        try d.keys(root, "", allowed: ["log", "export"])
        var config = ConfigFile()
        for name in ["log", "export"] {
            if let table = try d.table(root, name, "") { try config.decode(table: table, named: name, file: file) }
        }
        return config
    }

    /// Reads one table's settings; an unknown key, a wrong type or a bad value is an error
    /// naming the line and showing a good value.
    mutating func decode(table: TOMLTable, named name: String, file: String) throws(ProfileError) {
        let d = TOMLDecoder(file: file)
        let settings = Setting.inFile.filter { $0.tableAndName?.table == name }
        try d.keys(table, name, allowed: settings.compactMap { $0.tableAndName?.name })
        for setting in settings {
            guard let key = setting.tableAndName?.name, let value = table[key], let read = setting.read else { continue }
            do throws(SettingProblem) {
                try read(&self, .toml(value))
            } catch {
                let message = switch error {
                case .mustBe(let what): "\(name).\(key) must be \(what)"
                case .invalid(let why): "\(name).\(key): \(why)"
                }
                throw d.error(table, key, message, hint: "e.g. \(setting.example)")
            }
            setSource(table: name, key: key, "\(file):\(table.positions[key]?.line ?? 0)")
        }
    }

    /// The variables of one table's settings over the file. Returns a warning per unusable value,
    /// which is ignored: a bad variable degrades what it sets, never the run.
    mutating func applySettingVariables(_ environment: [String: String], table name: String) -> [String] {
        var warnings: [String] = []
        // The variable first: at every start most are unset, and a lookup is cheaper than the key's split.
        for setting in Setting.all {
            guard let text = environment[setting.variable], !text.isEmpty, let read = setting.read,
                  let (table, key) = setting.tableAndName, table == name else { continue }
            do throws(SettingProblem) {
                try read(&self, .text(text))
                setSource(table: name, key: key, setting.variable)
            } catch {
                let shown = "\(setting.variable)='\(text.prefix(40))'"
                switch error {
                case .mustBe(let what): warnings.append("ignoring \(shown): \(what), e.g. \(setting.example.replacing("\"", with: ""))")
                case .invalid(let why): warnings.append("ignoring \(shown): \(why)")
                }
            }
        }
        return warnings
    }

    /// Every variable over the file: `[log]`'s, `[export]`'s and OpenTelemetry's own.
    public mutating func applyEnvironment(_ environment: [String: String]) -> [String] {
        log.applyEnvironment(environment) + export.applyEnvironment(environment)
    }

    private mutating func setSource(table: String, key: String, _ source: String) {
        if table == "log" { log.sources[key] = source } else { export.sources[key] = source }
    }

    /// Where a setting's value came from: `FILE:LINE`, a variable, a flag, or `default`.
    public func source(of setting: Setting) -> String {
        guard let (table, key) = setting.tableAndName else { return "default" }
        return (table == "log" ? log.sources[key] : export.sources[key]) ?? "default"
    }
}
