// `version` and `doctor`: what the process runs with, and whether this machine is set up well.
#include "cli/args.h"
#include "cli/commands.h"
#include "core/runtime/blascore.h"
#include "core/runtime/gemmprobe.h"
#include "core/runtime/paths.h"
#include "core/runtime/runtime.h"
#include "core/tokenize/sentencepiecemodel.h"
#include "core/util/error.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

namespace tunebench::cli {

namespace {

// Qt is linked by the GUI binary only (core has no Qt); ask it. The GUI answers --qt-version before
// it creates an application object, so this needs no display.
std::string qtVersionFromGui()
{
  const std::filesystem::path gui = executableDir() / "tunebench";
  std::error_code ec;
  if (!std::filesystem::exists(gui, ec))
    return "not available (the GUI binary " + gui.string() + " is not built)";
  std::string command = "'";
  command.append(gui.string()).append("' --qt-version 2>/dev/null");
  std::unique_ptr<FILE, int (*)(FILE *)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe)
    return "unknown (cannot run " + gui.string() + ")";
  std::array<char, 256> buffer{};
  std::string output;
  while (std::fgets(buffer.data(), buffer.size(), pipe.get()))
    output += buffer.data();
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r'))
    output.pop_back();
  return output.empty() ? "unknown (" + gui.string() + " printed nothing)" : output;
}

// What fetch-assets runs: the packaged script beside the program (lib/tunebench/fetch-assets, the
// same relative place in a build folder and in an installation).
std::filesystem::path fetchAssetsScript()
{
  return executableDir().parent_path() / "lib" / "tunebench" / "fetch-assets";
}

// The workspace and the assets folder (where they are when nothing chose them: XDG_DATA_HOME).
void printFolders()
{
  std::cout << "workspace:     " << defaultWorkspaceDir().string() << '\n'
            << "assets:        " << assetsDir().string()
            << (assetsPresent(assetsDir()) ? "" : " (missing: tunebench-cli fetch-assets)") << '\n';
}

} // namespace

int runFetchAssets(const std::vector<std::string> &argv)
{
  Args args(argv, {{"assets", true,
                    "where to put them (default: $TUNEBENCH_ASSETS, else "
                    "$XDG_DATA_HOME/tunebench/assets)"}});
  if (!args.positionals().empty())
    throw UsageError("fetch-assets takes no arguments (see tunebench-cli fetch-assets --help)");
  const std::filesystem::path script = fetchAssetsScript();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(script, ec))
    throw Error(script.string() + ": the fetch-assets script is missing (reinstall tunebench)");
  const std::string assets = args.value("assets").value_or(assetsDir().string());
  const std::string cli = (executableDir() / "tunebench-cli").string();
  ::setenv("TUNEBENCH_ASSETS", assets.c_str(), 1);
  ::setenv("TUNEBENCH_CLI", cli.c_str(), 1);
  std::cout << "fetch-assets: into " << assets << std::endl;
  ::execl("/bin/bash", "bash", script.c_str(), static_cast<char *>(nullptr));
  throw Error("cannot run /bin/bash " + script.string() + ": " + std::strerror(errno));
}

int runVersion(const std::vector<std::string> &argv)
{
  Args args(argv, {});
  const RuntimeInfo info = runtimeInfo();
  std::cout << "tunebench " << info.tunebenchVersion << '\n'
            << "Qt:            " << qtVersionFromGui() << '\n'
            << formatRuntimeInfo(info);
  printFolders();
  return ExitOk;
}

int runDoctor(const std::vector<std::string> &argv)
{
  Args args(argv, {{"quick", false, "skip the GEMM measurement"}});
  const RuntimeInfo info = runtimeInfo();
  std::cout << "tunebench " << info.tunebenchVersion << '\n' << formatRuntimeInfo(info);
  printFolders();

  int failures = 0;
  auto check = [&](bool ok, const std::string &what, const std::string &remedy) {
    std::cout << (ok ? "[ok]   " : "[FAIL] ") << what;
    if (!ok) {
      std::cout << " — " << remedy;
      ++failures;
    }
    std::cout << '\n';
  };
  std::cout << '\n';
  check(!info.blas.slow && info.blas.name != "none loaded", "BLAS is " + info.blas.name,
        "install libopenblas0-pthread (packaging/install-deps.sh)");
  if (info.blas.name == "OpenBLAS") {
    const std::string better = betterOpenBlasCore();
    check(better.empty(), "OpenBLAS kernels suit this CPU",
          "OpenBLAS runs generic kernels; set OPENBLAS_CORETYPE=" + better + " (~5x faster GEMM)");
  }
  check(info.intraOpThreads == info.usableCores,
        "LibTorch uses " + std::to_string(info.intraOpThreads) + " of " +
            std::to_string(info.usableCores) + " cores",
        "pass --threads or unset TUNEBENCH_THREADS");
  try {
    check(true, "sentencepiece shim loads: " + SentencePieceModel::shimPath().string(), "");
  } catch (const Error &e) {
    check(false, "sentencepiece shim", e.what());
  }
  check(assetsPresent(assetsDir()), "assets found in " + assetsDir().string(),
        "run `tunebench-cli fetch-assets` (or set TUNEBENCH_ASSETS)");
  if (!args.has("quick")) {
    const GemmProbeResult f32 = measureGemm(false);
    std::cout << "[info] GEMM fp32 " << f32.n << "²: " << static_cast<int>(f32.gflops) << " GFLOP/s\n";
    const GemmProbeResult bf16 = measureGemm(true);
    std::cout << "[info] GEMM bf16 " << bf16.n << "²: " << static_cast<int>(bf16.gflops) << " GFLOP/s"
              << (info.cpuBf16 ? "" : " (no native bf16 on this CPU)") << '\n';
  }
  std::cout << (failures == 0 ? "all checks passed\n" : std::to_string(failures) + " check(s) failed\n");
  return failures == 0 ? ExitOk : ExitFailure;
}

} // namespace tunebench::cli
