/// The regular expressions profiles may give (`[[classify]] patterns`, `[[redaction.pattern]]
/// regex`), matched in time proportional to the text's length times the pattern's size, whatever
/// the pattern: a Pike VM over the pattern's compiled program, never backtracking.
///
/// Profile patterns run over output airun does not control. With a backtracking engine (Swift's
/// `Regex`), `(a+)+$` on twenty `a`s and a `b` ran 131 s, with SIGTERM waiting behind it.
///
/// Syntax: literals; `.`; classes `[a-z_]`, `[^…]` with `\d \w \s` inside; `\d \D \w \W \s \S
/// \t \n \r \b`; any other escaped punctuation as itself; `^` and `$`; groups `(…)`, `(?:…)`,
/// `(?<name>…)`; `|`; `* + ? {n} {n,} {n,m}` and their lazy forms; `(?i)` at the start for
/// ASCII case-insensitive matching. Backreferences and lookaround are refused: they cannot be
/// matched in linear time.
public struct LinearRegex: Sendable {
    fileprivate enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        case any
        case set(ScalarSet)
        case split(Int, Int)  // first is preferred
        case jump(Int)
        case lineStart
        case lineEnd
        case wordBoundary(Bool)
        case match
    }

    fileprivate let program: [Instruction]
    fileprivate let caseInsensitive: Bool

    /// The most instructions a pattern may compile to (`{n,m}` repeats its operand).
    public static let maximumSize = 20_000

    public init(_ pattern: String) throws(PatternError) {
        var parser = PatternParser(Array(pattern.unicodeScalars))
        let tree = try parser.parse()
        caseInsensitive = parser.caseInsensitive
        var compiler = PatternCompiler(caseInsensitive: caseInsensitive)
        try compiler.emit(tree)
        compiler.code.append(.match)
        program = compiler.code
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: String) -> Bool {
        var unlimited = Int.max
        return firstMatch(in: Array(text.unicodeScalars), from: 0, budget: &unlimited) != nil
    }


    /// `text` with every non-overlapping match replaced by `replacement(matched text)`.
    public func replacingMatches(in text: String, with replacement: (String) -> String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var position = 0
        var unlimited = Int.max
        while position <= scalars.count, let (start, end) = firstMatch(in: scalars, from: position, budget: &unlimited) {
            out.append(contentsOf: scalars[position..<start])
            out.append(contentsOf: replacement(String(String.UnicodeScalarView(scalars[start..<end]))).unicodeScalars)
            if end > start {
                position = end
            } else {
                if start < scalars.count { out.append(scalars[start]) }
                position = start + 1
            }
        }
        if position < scalars.count { out.append(contentsOf: scalars[position...]) }
        return String(out)
    }

    /// The leftmost match at or after `from` (preferring what the pattern prefers, as Perl
    /// does), as scalar offsets.
    func firstMatch(in text: [Unicode.Scalar], from: Int) -> (Int, Int)? {
        var unlimited = Int.max
        return firstMatch(in: text, from: from, budget: &unlimited)
    }

    /// The same, spending `budget` (one unit per thread stepped over a character); nil with the
    /// budget below zero when it ran out first. Linear time is still time: 200 patterns of 19,000
    /// instructions over a 64 KB line are 2·10¹¹ steps.
    func firstMatch(in text: [Unicode.Scalar], from: Int, budget: inout Int) -> (Int, Int)? {
        var current = ThreadList(capacity: program.count)
        var next = ThreadList(capacity: program.count)
        var found: (Int, Int)?
        var position = from
        while true {
            if found == nil { add(0, start: position, at: position, in: text, to: &current) }
            if current.isEmpty && found != nil { break }
            let scalar: Unicode.Scalar? = position < text.count ? text[position] : nil
            budget -= current.count + 1
            if budget < 0 { return nil }
            for k in 0..<current.count {
                let (pc, start) = current.threads[k]
                switch program[pc] {
                case .match:
                    found = (start, position)
                    break  // threads after this one have lower priority
                case .scalar(let s):
                    if let c = scalar, equal(c, s) { add(pc + 1, start: start, at: position + 1, in: text, to: &next) }
                case .any:
                    if let c = scalar, c != "\n" { add(pc + 1, start: start, at: position + 1, in: text, to: &next) }
                case .set(let set):
                    if let c = scalar, set.contains(c, caseInsensitive: caseInsensitive) {
                        add(pc + 1, start: start, at: position + 1, in: text, to: &next)
                    }
                default:
                    break
                }
                if case .match = program[pc] { break }
            }
            if position >= text.count { break }
            swap(&current, &next)
            next.clear()
            position += 1
            if found != nil && current.isEmpty { break }
        }
        return found
    }

    private func equal(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
        a == b || (caseInsensitive && asciiLower(a) == asciiLower(b))
    }

    /// Follows jumps, splits and assertions from `pc`, adding the threads that wait for a scalar.
    /// - Important: called once per thread per step; its stack is the list's own, kept between
    ///   calls: a new array each call was an allocation per step (8·10⁶ a failed classification).
    private func add(_ pc: Int, start: Int, at position: Int, in text: [Unicode.Scalar], to list: inout ThreadList) {
        list.stack.append(pc)
        while let pc = list.stack.popLast() {
            guard list.mark(pc) else { continue }
            switch program[pc] {
            case .jump(let target): list.stack.append(target)
            case .split(let preferred, let other):
                list.stack.append(other)
                list.stack.append(preferred)
            case .lineStart: if position == 0 { list.stack.append(pc + 1) }
            case .lineEnd: if position == text.count { list.stack.append(pc + 1) }
            case .wordBoundary(let wanted):
                let before = position > 0 && isWordScalar(text[position - 1])
                let after = position < text.count && isWordScalar(text[position])
                if (before != after) == wanted { list.stack.append(pc + 1) }
            default: list.append(pc, start)
            }
        }
    }
}

/// A pattern airun's engine cannot compile: bad syntax, or a construct that needs backtracking.
public struct PatternError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The threads of one step, in priority order, each program counter at most once.
private struct ThreadList {
    var threads: [(Int, Int)] = []
    private var seen: [Bool]
    private var marked: [Int] = []
    /// `add`'s work list, empty between its calls.
    var stack: [Int] = []
    init(capacity: Int) { seen = Array(repeating: false, count: capacity) }
    var isEmpty: Bool { threads.isEmpty }
    var count: Int { threads.count }
    mutating func mark(_ pc: Int) -> Bool {
        if seen[pc] { return false }
        seen[pc] = true
        marked.append(pc)
        return true
    }
    mutating func append(_ pc: Int, _ start: Int) { threads.append((pc, start)) }
    mutating func clear() {
        for pc in marked { seen[pc] = false }
        marked.removeAll(keepingCapacity: true)
        threads.removeAll(keepingCapacity: true)
    }
}

/// A character class: ranges, possibly negated.
struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var negated = false

    func contains(_ c: Unicode.Scalar, caseInsensitive: Bool) -> Bool {
        var hit = ranges.contains { $0.contains(c.value) }
        if !hit && caseInsensitive {
            let lower = asciiLower(c).value, upper = asciiUpper(c).value
            hit = ranges.contains { $0.contains(lower) || $0.contains(upper) }
        }
        return hit != negated
    }

    static let digits = ScalarSet(ranges: [0x30...0x39])
    static let word = ScalarSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = ScalarSet(ranges: [0x09...0x0D, 0x20...0x20])
}

func isWordScalar(_ c: Unicode.Scalar) -> Bool { ScalarSet.word.contains(c, caseInsensitive: false) }
private func asciiLower(_ c: Unicode.Scalar) -> Unicode.Scalar { (0x41...0x5A).contains(c.value) ? Unicode.Scalar(c.value + 32)! : c }
private func asciiUpper(_ c: Unicode.Scalar) -> Unicode.Scalar { (0x61...0x7A).contains(c.value) ? Unicode.Scalar(c.value - 32)! : c }

// MARK: parsing

/// The pattern as a tree.
private indirect enum PatternNode {
    case empty
    case scalar(Unicode.Scalar)
    case any
    case set(ScalarSet)
    case lineStart, lineEnd
    case wordBoundary(Bool)
    case sequence([PatternNode])
    case alternation([PatternNode])
    case repeated(PatternNode, min: Int, max: Int?, lazy: Bool)
}

/// Recursive descent over the pattern, depth-limited like the TOML parser.
private struct PatternParser {
    let s: [Unicode.Scalar]
    var i = 0
    var depth = 0
    var caseInsensitive = false

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    func fail(_ message: String) -> PatternError { PatternError(message: message + " at character \(i + 1)") }
    func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }

    mutating func parse() throws(PatternError) -> PatternNode {
        if s.starts(with: Array("(?i)".unicodeScalars)) {
            caseInsensitive = true
            i = 4
        }
        let tree = try alternation()
        if i < s.count { throw fail("unbalanced ')'") }
        return tree
    }

    mutating func alternation() throws(PatternError) -> PatternNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 100 else { throw fail("groups nested more than 100 deep") }
        var branches = [try sequence()]
        while peek() == "|" {
            i += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func sequence() throws(PatternError) -> PatternNode {
        var items: [PatternNode] = []
        while let c = peek(), c != "|", c != ")" {
            var atom = try self.atom()
            while let q = peek(), q == "*" || q == "+" || q == "?" || q == "{" {
                guard let (min, max) = try quantifier() else { break }
                if case .lineStart = atom { throw fail("nothing to repeat") }
                var lazy = false
                if peek() == "?" { lazy = true; i += 1 }
                atom = .repeated(atom, min: min, max: max, lazy: lazy)
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    /// `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`; nil for a `{` that is not a quantifier (a literal).
    mutating func quantifier() throws(PatternError) -> (Int, Int?)? {
        let c = s[i]
        switch c {
        case "*": i += 1; return (0, nil)
        case "+": i += 1; return (1, nil)
        case "?": i += 1; return (0, 1)
        default:
            var k = i + 1
            func number() -> Int? {
                let from = k
                while k < s.count, ("0"..."9").contains(s[k]), k - from < 6 { k += 1 }
                return k > from ? Int(String(String.UnicodeScalarView(s[from..<k]))) : nil
            }
            // `{,m}` is `{0,m}`, as in Python.
            guard let min = number() ?? (k < s.count && s[k] == "," ? 0 : nil) else { return nil }
            var max: Int? = min
            if k < s.count, s[k] == "," {
                k += 1
                max = number()
            }
            guard k < s.count, s[k] == "}" else { return nil }
            i = k + 1
            if let max, max < min { throw fail("{\(min),\(max)}: the maximum is below the minimum") }
            guard min <= 1000, (max ?? 0) <= 1000 else { throw fail("repetition counts above 1000") }
            return (min, max)
        }
    }

    mutating func atom() throws(PatternError) -> PatternNode {
        let c = s[i]
        i += 1
        switch c {
        case ".": return .any
        case "^": return .lineStart
        case "$": return .lineEnd
        case "[": return .set(try set())
        case "\\": return try escape(inSet: false)
        case "*", "+", "?": throw fail("nothing to repeat before '\(c)'")
        case "(":
            if peek() == "?" {
                if peek(1) == ":" {
                    i += 2
                } else if peek(1) == "<", let n = peek(2), n != "=", n != "!" {
                    i += 2
                    while let d = peek(), d != ">" { i += 1 }
                    i += 1
                } else {
                    throw fail("(?…) lookaround and inline flags are not supported (only (?:…), (?<name>…) and a leading (?i))")
                }
            }
            let inner = try alternation()
            guard peek() == ")" else { throw fail("missing ')'") }
            i += 1
            return inner
        default: return .scalar(c)
        }
    }

    mutating func escape(inSet: Bool) throws(PatternError) -> PatternNode {
        guard let c = peek() else { throw fail("a pattern cannot end with '\\'") }
        i += 1
        switch c {
        case "d": return .set(.digits)
        case "D": return .set(ScalarSet(ranges: ScalarSet.digits.ranges, negated: true))
        case "w": return .set(.word)
        case "W": return .set(ScalarSet(ranges: ScalarSet.word.ranges, negated: true))
        case "s": return .set(.space)
        case "S": return .set(ScalarSet(ranges: ScalarSet.space.ranges, negated: true))
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "b" where !inSet: return .wordBoundary(true)
        case "B" where !inSet: return .wordBoundary(false)
        default:
            if c.properties.isAlphabetic || ("0"..."9").contains(c) {
                throw fail("'\\\(c)' is not supported (backreferences and other escapes need a backtracking engine)")
            }
            return .scalar(c)
        }
    }

    /// After `[`: ranges up to `]`.
    mutating func set() throws(PatternError) -> ScalarSet {
        var set = ScalarSet()
        if peek() == "^" { set.negated = true; i += 1 }
        var first = true
        while true {
            guard let c = peek() else { throw fail("missing ']'") }
            if c == "]" && !first { i += 1; return set }
            first = false
            i += 1
            var low: UInt32
            if c == "\\" {
                switch try escape(inSet: true) {
                case .scalar(let e): low = e.value
                case .set(let inner) where !inner.negated: set.ranges += inner.ranges; continue
                default: throw fail("negated classes (\\D \\W \\S) inside [...] are not supported")
                }
            } else {
                low = c.value
            }
            if peek() == "-", let h = peek(1), h != "]" {
                i += 2
                var high = h.value
                if h == "\\" {
                    guard case .scalar(let e) = try escape(inSet: true) else { throw fail("a class cannot end a range") }
                    high = e.value
                }
                guard low <= high else { throw fail("range out of order in [...]") }
                set.ranges.append(low...high)
            } else {
                set.ranges.append(low...low)
            }
        }
    }
}

// MARK: compiling

private struct PatternCompiler {
    var code: [LinearRegex.Instruction] = []
    let caseInsensitive: Bool

    mutating func append(_ i: LinearRegex.Instruction) throws(PatternError) {
        guard code.count < LinearRegex.maximumSize else {
            throw PatternError(message: "the pattern is too large (more than \(LinearRegex.maximumSize) steps once repetitions are expanded)")
        }
        code.append(i)
    }

    mutating func emit(_ node: PatternNode) throws(PatternError) {
        switch node {
        case .empty: break
        case .scalar(let c): try append(.scalar(c))
        case .any: try append(.any)
        case .set(let s): try append(.set(s))
        case .lineStart: try append(.lineStart)
        case .lineEnd: try append(.lineEnd)
        case .wordBoundary(let b): try append(.wordBoundary(b))
        case .sequence(let items): for item in items { try emit(item) }
        case .alternation(let branches):
            var jumps: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = code.count
                    try append(.split(split + 1, -1))
                    try emit(branch)
                    jumps.append(code.count)
                    try append(.jump(-1))
                    code[split] = .split(split + 1, code.count)
                } else {
                    try emit(branch)
                }
            }
            for j in jumps { code[j] = .jump(code.count) }
        case .repeated(let inner, let min, let max, let lazy):
            for _ in 0..<min { try emit(inner) }
            if let max {
                // Each optional copy: split over it; all skips go to the end.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(code.count)
                    try append(.split(-1, -1))
                    try emit(inner)
                }
                for s in splits { code[s] = lazy ? .split(code.count, s + 1) : .split(s + 1, code.count) }
            } else {
                let loop = code.count
                try append(.split(-1, -1))
                try emit(inner)
                try append(.jump(loop))
                code[loop] = lazy ? .split(code.count, loop + 1) : .split(loop + 1, code.count)
            }
        }
    }
}
