import Foundation
import Testing
import TestSupport

/// Every module imports only what Package.swift declares for it (besides CRTCam, which every
/// module gets, and the standard library's Synchronization). SwiftPM would build an undeclared
/// import anyway when another dependency pulls the module in, so nothing else catches it; and
/// tools/build compiles the modules in an order of its own.
@Suite struct ModuleImportsTests {
  @Test func importsAreDeclaredInPackageSwift() throws {
    let package = try String(contentsOfFile: try repositoryPath("Package.swift"), encoding: .utf8)
    let row = try NSRegularExpression(pattern: #"^\s*\("(\w+)", \[([^\]]*)\]\),"#, options: [.anchorsMatchLines])
    let ns = package as NSString
    var declared: [String: Set<String>] = [:]
    for m in row.matches(in: package, range: NSRange(location: 0, length: ns.length)) {
      let deps = ns.substring(with: m.range(at: 2)).split(separator: ",").map {
        $0.trimmingCharacters(in: CharacterSet(charactersIn: " \""))
      }
      declared[ns.substring(with: m.range(at: 1))] = Set(deps.filter { !$0.isEmpty })
    }
    #expect(declared.count >= 13 && declared["CLI"] != nil, "deviceModules not found in Package.swift")
    for (module, deps) in declared {
      let dir = try repositoryPath("Sources/" + module)
      for file in try FileManager.default.contentsOfDirectory(atPath: dir) where file.hasSuffix(".swift") {
        let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("import ") {
          let imported = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces)
          let allowed = deps.union(["CRTCam", "Synchronization"])
          #expect(allowed.contains(imported), "Sources/\(module)/\(file) imports \(imported), not a dependency of \(module) in Package.swift")
        }
      }
    }
  }
}
