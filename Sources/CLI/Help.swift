// `rtcam --help`, made from the option table (OptionTable.swift): the usage lines, every option
// by section with its allowed values and default, and the notes after them (HelpNotes.swift).
import App
import Wire

/// The text `rtcam --help` prints.
public let helpText: String = renderHelp()

/// The widest line the help and the config file wrap to.
let textWidth = 98

func renderHelp() -> String {
  var out: [String] = [
    "rtcam " + rtcamVersion + " — a live camera for any browser on the LAN, over WebRTC, in one static binary.", "",
  ]
  let usage = usageLines()
  for (i, line) in usage.enumerated() { out.append((i == 0 ? "Usage: " : "       ") + line) }
  out += ["", "Open http://<this machine>:<http-port>/ in a browser to watch."]
  for section in OptionSection.allCases {
    let rows = optionTable.filter { $0.section == section }
    guard !rows.isEmpty else { continue }
    out += [""] + wrap(section.title + (section.note.isEmpty ? "" : " (" + section.note + ")") + ":", width: textWidth, first: "", indent: 2)
    // the text starts at column 22, or further right in a section of long names
    let widest = rows.map { $0.label.utf8.count }.max() ?? 0
    let column = min(max(widest + 4, 22), 34)
    for row in rows { out += helpLines(row, column: column) }
  }
  out += ["", "HTTP endpoints:"]
  let termWidth = (httpEndpoints.map { $0.term.utf8.count }.max() ?? 0) + 2
  for e in httpEndpoints { out += wrap(e.text, width: textWidth, first: "  " + padded(e.term, termWidth), indent: termWidth + 2) }
  for note in helpNotes { out += [""] + wrap(note, width: textWidth, first: "", indent: 0) }
  return out.joined(separator: "\n")
}

/// The help's sentence about a row: what it does, the values it takes, whether it repeats, its
/// default (`withDefault`; the config file shows the default on the setting's own line).
func describe(_ row: OptionSpec, withDefault: Bool = true) -> String {
  var extras: [String] = []
  if let a = row.allowed { extras.append(a) }
  if row.repeatable { extras.append("repeatable") }
  if withDefault, let d = row.defaultPhrase { extras.append(d) }
  return row.help + (extras.isEmpty ? "" : " (" + extras.joined(separator: "; ") + ")")
}

/// One option in the help: its label, then its sentence from `column` on, then its details.
func helpLines(_ row: OptionSpec, column: Int) -> [String] {
  let label = "  " + row.label
  let text = describe(row) + (row.detailList.isEmpty ? "" : ":")
  var lines: [String]
  if label.utf8.count + 2 <= column {
    lines = wrap(text, width: textWidth, first: padded(label, column), indent: column)
  } else {
    lines = [label] + wrap(text, width: textWidth, first: String(repeating: " ", count: column), indent: column)
  }
  let termColumn = column + 2 + (row.detailList.map { $0.term.utf8.count }.max() ?? 0) + 2
  for d in row.detailList {
    lines += wrap(d.text, width: textWidth, first: padded(String(repeating: " ", count: column + 2) + d.term, termColumn), indent: termColumn)
  }
  return lines
}

/// The commands' synopses with their summaries, without the "Usage: " in front.
func usageLines() -> [String] {
  let summaryColumn = 29  // 36 in the help, after "Usage: "
  var out: [String] = []
  for command in CommandName.allCases {
    var synopsis: [String]
    if command == .serve {
      synopsis = ["rtcam [" + command.word + "] [options]"]
    } else {
      let head = "rtcam " + command.word + command.operands
      let words = optionTable.filter { $0.commands.contains(command) && $0.key != .help }.map { "[" + $0.label + "]" }
      let rest = String(repeating: " ", count: "rtcam ".utf8.count + command.word.utf8.count + 1)
      synopsis = wrapWords(words, width: textWidth - 7, first: head + " ", rest: rest)
    }
    let last = synopsis.removeLast()
    out += synopsis
    if last.utf8.count + 2 <= summaryColumn {
      out += wrap(command.summary, width: textWidth - 7, first: padded(last, summaryColumn), indent: summaryColumn)
    } else {
      out.append(last)
      out += wrap(command.summary, width: textWidth - 7, first: String(repeating: " ", count: summaryColumn), indent: summaryColumn)
    }
  }
  out.append("rtcam " + OptionKey.help.spec.name + " | " + OptionKey.version.spec.name)
  return out
}

/// `s` with spaces up to `width` bytes (ASCII text); unchanged when already as wide.
func padded(_ s: String, _ width: Int) -> String {
  s + String(repeating: " ", count: max(width - s.utf8.count, 0))
}

/// `text` split at spaces into lines of at most `width` bytes: the first starts with `first`,
/// the others with `indent` spaces. A word longer than a line gets a line of its own.
func wrap(_ text: String, width: Int, first: String, indent: Int) -> [String] {
  wrap(text, width: width, first: first, rest: String(repeating: " ", count: indent))
}

/// `text` wrapped with `rest` in front of every line but the first.
func wrap(_ text: String, width: Int, first: String, rest: String) -> [String] {
  let words = text.splitASCII(UInt8(ascii: " ")).filter { !$0.isEmpty }
  return wrapWords(words, width: width, first: first, rest: rest)
}

func wrapWords(_ words: [String], width: Int, first: String, rest: String) -> [String] {
  var lines: [String] = []
  var line = first
  var fresh = true  // nothing but the prefix on the line yet
  for w in words {
    if !fresh && line.utf8.count + 1 + w.utf8.count > width {
      lines.append(line)
      line = rest
      fresh = true
    }
    line += (fresh ? "" : " ") + w
    fresh = false
  }
  lines.append(line)
  return lines
}
