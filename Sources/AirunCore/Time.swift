/// RFC 3339 UTC with microseconds, e.g. `2026-11-26T11:40:23.123456Z`, from Unix microseconds.
/// Civil-date arithmetic (Howard Hinnant's days-from-civil inverse) so no libc or Foundation
/// calendar is needed.
public func rfc3339(microseconds: Int64) -> String {
    var bytes: [UInt8] = []
    appendRFC3339(microseconds: microseconds, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

/// `rfc3339(microseconds:)` appended as bytes: a record's timestamp, written straight into its line.
public func appendRFC3339(microseconds: Int64, to out: inout [UInt8]) {
    let (date, secondsOfDay) = civilDate(microseconds: microseconds)
    let micros = ((microseconds % 1_000_000) + 1_000_000) % 1_000_000
    func digits(_ value: Int64, _ width: Int) {
        guard value >= 0, value < 10_000 || width > 4 else { return out.append(contentsOf: pad(value, width).utf8) }
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            out.append(UInt8(48 + v / divisor % 10))
            v %= divisor
            divisor /= 10
        }
    }
    digits(date.year, 4)
    out.append(UInt8(ascii: "-"))
    digits(date.month, 2)
    out.append(UInt8(ascii: "-"))
    digits(date.day, 2)
    out.append(UInt8(ascii: "T"))
    digits(secondsOfDay / 3600, 2)
    out.append(UInt8(ascii: ":"))
    digits(secondsOfDay / 60 % 60, 2)
    out.append(UInt8(ascii: ":"))
    digits(secondsOfDay % 60, 2)
    out.append(UInt8(ascii: "."))
    digits(micros, 6)
    out.append(UInt8(ascii: "Z"))
}

/// The UTC day as a count of days since 1970-01-01: whether two records fall on one day, without
/// formatting either (a chatty command's log lines are checked a batch at a time).
public func utcDayNumber(microseconds: Int64) -> Int64 {
    microseconds >= 0 ? microseconds / 86_400_000_000 : (microseconds + 1) / 86_400_000_000 - 1
}

/// `YYYYMMDD` of the UTC day, for daily log file names.
public func utcDayStamp(microseconds: Int64) -> String {
    let (date, _) = civilDate(microseconds: microseconds)
    return "\(date.year)\(pad(date.month, 2))\(pad(date.day, 2))"
}

func civilDate(microseconds: Int64) -> (date: (year: Int64, month: Int64, day: Int64), secondsOfDay: Int64) {
    let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
    var days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
    let secondsOfDay = seconds - days * 86400
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let doe = days - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    return ((year, month, day), secondsOfDay)
}

func pad(_ value: Int64, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// A length of time given on the command line or in a profile: `90s`, `10m`, `1h`, `500ms`,
/// `1.5s`, or bare seconds (`30`), as GNU timeout accepts them (plus `ms`). Named so as not to
/// shadow the standard library's `Duration`: its text form (`90s`) is what airun prints.
public struct TimeSpan: Equatable, Sendable, CustomStringConvertible {
    public let nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> TimeSpan { TimeSpan(nanoseconds: Int64(saturating: s * 1e9)) }

    public init?(parsing text: String) {
        let units: [(String, Double)] = [("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9)]
        let (number, scale) = splitUnit(text, units, defaultFactor: 1e9)
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }),
              let value = Double(number), value.isFinite, value >= 0, value * scale < 9e18 else { return nil }
        nanoseconds = Int64(value * scale)
    }

    /// The shortest exact form: `90s`, `30m`, `2h`, `1.5s`, `500ms`.
    public var description: String {
        if nanoseconds > 0, nanoseconds < 1_000_000_000, nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        let s = Double(nanoseconds) / 1e9
        guard s == s.rounded() else { return "\(JSONLine.format(s, decimals: 3))s" }
        let whole = Int64(saturating: s)
        if whole > 0, whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole > 0, whole % 60 == 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// "2.15s": a duration as the console and `airun trace` show it, to the hundredth.
public func formatSeconds(milliseconds: Double) -> String {
    let hundredths = Int64(saturating: (milliseconds / 10).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)s"
}

/// The same appended as bytes, for a reader that writes a line per record (`trace`'s log lines).
public func appendSeconds(milliseconds: Double, to out: inout [UInt8]) {
    let hundredths = Int64(saturating: (milliseconds / 10).rounded())
    guard hundredths >= 0 else { return out.append(contentsOf: formatSeconds(milliseconds: milliseconds).utf8) }
    appendDecimal(hundredths / 100, to: &out)
    let fraction = UInt8(hundredths % 100)
    out.append(UInt8(ascii: "."))
    out.append(fraction / 10 + 0x30)
    out.append(fraction % 10 + 0x30)
    out.append(UInt8(ascii: "s"))
}

/// A non-negative number's decimal digits.
public func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
    var divisor: Int64 = 1
    while divisor <= value / 10 { divisor *= 10 }
    var rest = value
    repeat {
        out.append(UInt8(rest / divisor) + 0x30)
        rest %= divisor
        divisor /= 10
    } while divisor > 0
}

/// Unix microseconds of an RFC 3339 UTC time as airun writes it (`2026-11-26T11:40:23.123456Z`;
/// fewer fraction digits are accepted), or nil.
public func parseRFC3339(_ text: String) -> Int64? {
    var text = text
    return text.withUTF8 { parseRFC3339(bytes: $0) }
}

/// The same from the bytes of a record line, without a String.
public func parseRFC3339(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == 0x2D, b[7] == 0x2D, b[10] == UInt8(ascii: "T"),
          b[13] == 0x3A, b[16] == 0x3A else { return nil }
    @inline(__always) func number(_ r: Range<Int>) -> Int64? {
        var n: Int64 = 0
        for i in r {
            let d = b[i] &- 0x30
            guard d <= 9 else { return nil }
            n = n &* 10 &+ Int64(d)
        }
        return n
    }
    guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
          let mi = number(14..<16), var s = number(17..<19), (1...12).contains(mo), h < 24, mi < 60, s < 61
    else { return nil }
    // A real calendar day: 1970-02-31 is no date (it would read as March 3rd).
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    let monthDays: Int64 = switch mo {
    case 2: leap ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
    guard d >= 1, d <= monthDays else { return nil }
    var micros: Int64 = 0
    if b.count > 20 {
        guard b[19] == UInt8(ascii: "."), b.count - 21 <= 9, b.count - 21 >= 1, let f = number(20..<(b.count - 1)) else { return nil }
        var scaled = f
        var digits = b.count - 21
        while digits < 6 { scaled *= 10; digits += 1 }
        while digits > 6 { scaled /= 10; digits -= 1 }
        micros = scaled
    } else if b[19] != UInt8(ascii: "Z") {
        return nil
    }
    // A leap second (:60) is the minute's last microsecond: 9999-12-31T23:59:60.999999Z must not
    // roll over into a year 10000 that no four-digit time can show.
    if s == 60 {
        s = 59
        micros = 999_999
    }
    let days = daysFromCivil(y, mo, d)
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 1_000_000) + micros
}
