import Foundation
import Testing
import App
import Encoder
import TestSupport
@testable import CLI

/// The option table is the one source of the options: the parser, `--help`, board/rtcam.conf and
/// docs/cli.md all follow it, and these tests fail when any of them drifts.
@Suite struct OptionTableTests {
  func text(_ relative: String) throws -> String {
    try String(contentsOfFile: try repositoryPath(relative), encoding: .utf8)
  }

  /// Every match of `pattern`'s first group, one per line of `text`.
  func captures(_ pattern: String, in text: String) throws -> [String] {
    let re = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
    let ns = text as NSString
    return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
  }

  func hasValueDefault(_ row: OptionSpec) -> Bool {
    if case .value = row.defaultValue { return true }
    return false
  }

  @Test func everyKeyHasOneRowAndNamesAreUnique() {
    for key in OptionKey.allCases {
      #expect(optionTable.filter { $0.key == key }.count == 1, "\(key)")
    }
    #expect(optionTable.count == OptionKey.allCases.count)
    #expect(OptionKey.allCases.count <= 64 && OptionKey.allCases.last?.rawValue == UInt8(OptionKey.allCases.count - 1))
    let names = optionTable.map { $0.name } + optionTable.map { $0.alias }.filter { !$0.isEmpty }
    #expect(Set(names).count == names.count)
    for row in optionTable {
      #expect(row.name.hasPrefix("--") && row.name.dropFirst(2).allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
      #expect(!row.commands.isEmpty && !row.help.isEmpty, "\(row.name)")
      #expect(row.isFlag == row.metavar.isEmpty, "\(row.name): a flag has no metavar, an option with a value has one")
      if row.inConfig && !hasValueDefault(row) {
        #expect(!row.exampleList.isEmpty, "\(row.name): the config file shows it only through examples")
      }
    }
  }

  /// The files in the repository are exactly what the table makes (tools/gen-cli-docs writes them).
  @Test func confAndDocsAreGeneratedFromTheTable() throws {
    #expect(try text("board/rtcam.conf") == ReferenceFormat.conf.text + "\n", "board/rtcam.conf is stale: run tools/gen-cli-docs")
    #expect(try text("docs/cli.md") == ReferenceFormat.markdown.text + "\n", "docs/cli.md is stale: run tools/gen-cli-docs")
  }

  /// Read back independently of the renderers: `--help`, docs/cli.md and board/rtcam.conf list
  /// the same options, and those are the table's.
  @Test func helpDocsAndConfListTheSameOptions() throws {
    let all = Set(optionTable.map { $0.name })
    let help = Set(try captures(#"^  (?:-[A-Za-z], )?(--[a-z0-9-]+)"#, in: helpText))
    let docs = Set(try captures(#"^\| `(?:-[A-Za-z], )?(--[a-z0-9-]+)"#, in: try text("docs/cli.md")))
    let conf = try captures(#"^#(?: |   )([a-z0-9-]+) = "#, in: try text("board/rtcam.conf"))
    #expect(help == all, "help: missing \(all.subtracting(help)), extra \(help.subtracting(all))")
    #expect(docs == all, "docs/cli.md: missing \(all.subtracting(docs)), extra \(docs.subtracting(all))")
    let keys = Set(optionTable.compactMap { $0.configKey })
    #expect(Set(conf) == keys, "rtcam.conf: missing \(keys.subtracting(conf)), extra \(Set(conf).subtracting(keys))")
    // the config keys are serve's options but --config, --help and --version
    let serve = Set(optionTable.filter { $0.commands.contains(.serve) }.map { String($0.name.dropFirst(2)) })
    #expect(keys == serve.subtracting(["config", "help", "version"]))
    // the help names every command; the tools/vm scripts look for these
    for word in ["rtcam probe", "rtcam devices", "rtcam passwd USER", "--format FOURCC", "--json"] {
      #expect(helpText.contains(word), "help lacks \(word)")
    }
  }

  /// With every `# key = default` line of board/rtcam.conf uncommented, rtcam still runs with its
  /// defaults: the table's defaults are the code's.
  @Test func theConfDefaultsAreTheBuiltInOnes() throws {
    let conf = try text("board/rtcam.conf")
    var lines: [String] = []
    var n = 0
    for line in conf.split(separator: "\n", omittingEmptySubsequences: false) {
      if let key = try captures(#"^# ([a-z0-9-]+) = "#, in: String(line)).first, option(configKey: key) != nil {
        lines.append(String(line.dropFirst(2)))
        n += 1
      }
    }
    #expect(n == optionTable.filter { $0.inConfig && hasValueDefault($0) }.count)
    let file = ConfigFile(path: "rtcam.conf", bytes: Array(lines.joined(separator: "\n").utf8))
    #expect(try parseCommandLine(["--config", "rtcam.conf"], config: file) == .serve(ServeOptions()))
  }

  /// Every row's default, given explicitly, changes nothing, for every command.
  @Test func defaultsInTheTableAreTheParsersDefaults() throws {
    for row in optionTable where !row.isFlag {
      guard case .value(let v) = row.defaultValue, let command = row.commands.first else { continue }
      let base = command == .serve ? [] : [command.word] + (command == .passwd ? ["cam"] : [])
      #expect(try parseCommandLine(base + [row.name, v]) == (try parseCommandLine(base)), "\(row.name) \(v)")
    }
  }

  /// Number ranges: both ends accepted, one past either end refused with the option's name.
  @Test func rangesInTheTableAreTheParsersRanges() throws {
    for row in optionTable {
      let range: ClosedRange<Int>
      switch row.value {
      case .number(let r), .seconds(let r): range = r
      default: continue
      }
      guard let command = row.commands.first else { continue }
      var base = command == .serve ? [] : [command.word] + (command == .passwd ? ["cam"] : [])
      if row.section == .forwarding { base += ["--forward", "rtp://10.0.0.2:5004"] }
      if row.section == .recording { base += ["--record", "/tmp"] }
      for ok in [range.lowerBound, range.upperBound] {
        #expect(throws: Never.self, "\(row.name) \(ok)") { try parseCommandLine(base + [row.name, String(ok)]) }
      }
      for bad in [range.lowerBound - 1, range.upperBound + 1] {
        do {
          _ = try parseCommandLine(base + [row.name, String(bad)])
          Issue.record("\(row.name) \(bad) parsed")
        } catch {
          #expect(error.message.hasPrefix("\(row.name) must be") && error.message.hasSuffix("not '\(bad)'"), "\(error.message)")
        }
      }
    }
  }

  /// The table holds literals (so it is data in the binary); where the code has the same value
  /// as a constant, they agree.
  @Test func literalsAgreeWithTheCodesConstants() throws {
    func range(_ key: OptionKey) -> ClosedRange<Int>? {
      switch key.spec.value {
      case .number(let r), .seconds(let r): return r
      default: return nil
      }
    }
    #expect(range(.mjpegQuality) == StillOptions.qualityRange)
    #expect(range(.iterations) == PasswordHashLine.iterationRange)
    #expect(range(.rtspTimeout) == RtspOptions.timeoutRange)
    #expect(range(.rtspKeyframeInterval) == RtspOptions.keyframeIntervalRange)
    #expect(range(.forwardKeyframeInterval) == 0...ForwardOptions.maxKeyframeIntervalSeconds)
    guard case .choice(let presets) = OptionKey.preset.spec.value, case .choice(let levels) = OptionKey.logLevel.spec.value
    else {
      Issue.record("preset and log-level are choices")
      return
    }
    #expect(presets == EncoderPreset.allCases.map { $0.name })
    #expect(levels.map { LogLevel(name: $0)?.name } == levels)
    #expect(OptionKey.forward.spec.help.contains("Up to " + String(ForwardOptions.maxTargets) + ";"))
    #expect(OptionKey.h264Out.spec.help.contains(String(ProbeOptions.maxH264OutBytes >> 20) + " MiB"))
  }

  @Test func choicesAreAccepted() throws {
    for row in optionTable {
      guard case .choice(let words) = row.value else { continue }
      // a probe-only option is tried with probe (--codec goes with a hardware encoder)
      let command: [String] = row.commands.contains(.serve) ? [] : ["probe"]
      let with: [String] = row.key == .codec ? ["--encoder", "v4l2m2m:/dev/video11"] : []
      for w in words { #expect(throws: Never.self) { try parseCommandLine(command + [row.name, w] + with) } }
      #expect(throws: OptionError.self) { try parseCommandLine(command + [row.name, "none-of-these"] + with) }
    }
  }

  @Test func referenceCommands() throws {
    #expect(try parseCommandLine(["help", "--conf"]) == .reference(.conf))
    #expect(try parseCommandLine(["help", "--markdown"]) == .reference(.markdown))
    #expect(try parseCommandLine(["help", "--other"]) == .help)
    #expect(try parseCommandLine(["help"]) == .help)
  }

  @Test func flagsTakeNoValue() {
    for args in [["--http-redirect=false"], ["devices", "--json=1"], ["--version=2"]] {
      do {
        _ = try parseCommandLine(args)
        Issue.record("\(args) parsed")
      } catch {
        #expect(error.message.hasSuffix("takes no value"), "\(error.message)")
      }
    }
  }

  @Test func wrapping() {
    #expect(wrap("aa bb cc", width: 5, first: "", indent: 1) == ["aa bb", " cc"])
    #expect(wrap("averylongword x", width: 5, first: "> ", indent: 2) == ["> averylongword", "  x"])
    #expect(helpText.split(separator: "\n").allSatisfy { $0.utf8.count <= textWidth || !$0.contains(" ") })
    #expect(markdownEscaped("a|b <c> `x|y*` *") == "a\\|b &lt;c&gt; `x\\|y*` \\*")
  }
}
