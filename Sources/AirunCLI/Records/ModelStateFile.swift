import AirunCore
import AirunSystem

/// `model-state.json` in the log directory: what runs remember of models (failures, cool-downs,
/// edits that worked), read and written under a lock so concurrent runs lose no update.
/// - Important: fails open. A state that cannot be read or written is one warning, and the run
///   goes on as if it had no memory; a file too large or not airun's is started afresh.
final class ModelStateFile {
    let path: String
    private let console: Console

    init(logDirectory: String, console: Console) {
        path = logDirectory + "/model-state.json"
        self.console = console
    }

    /// Runs `body` on the state under the lock, and writes the state back if it changed; nil
    /// when the state cannot be used.
    func update<T>(_ body: (inout ModelStates) -> T) -> T? {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        do {
            try makeDirectories(directory.isEmpty ? "." : directory, mode: 0o700)
            return try withLockFile(path + ".lock") { () throws(SystemError) -> T in
                var states = ModelStates()
                if case .contents(let bytes) = readWholeFile(path, limit: ModelStates.maximumBytes) { states = ModelStates(decoding: bytes) }
                let before = states
                let result = body(&states)
                if states != before { try writeFileAtomically(path, states.encoded()) }
                return result
            }
        } catch {
            console.lost("cannot use \(path) (\(error)): no cool-downs or remembered edits this run", once: "model-state")
            return nil
        }
    }

    /// The state as it is, without taking the lock (`airun health`).
    func read() -> ModelStates {
        guard case .contents(let bytes) = readWholeFile(path, limit: ModelStates.maximumBytes) else { return ModelStates() }
        return ModelStates(decoding: bytes)
    }
}
