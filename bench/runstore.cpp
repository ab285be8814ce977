// bench_runstore: the run history at scale. Builds a workspace of RUNS runs × POINTS metric points
// (default 10,000 × 2,000 = 20 million points, as the issue sizes it), then times what the GUI and
// `runs` do interactively: a filtered, sorted listing and a 5-run comparison (config diff,
// summaries and every series). Prints the figures; asserts nothing.
//   bench_runstore [WORKSPACE] [RUNS] [POINTS]
#include "bench/benchclock.h"
#include "core/runs/runstore.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

using namespace tunebench;
using bench::Clock;
using bench::since;

int main(int argc, char **argv)
{
  const std::filesystem::path ws = argc > 1 ? argv[1] : "bench-runstore-workspace";
  const int runs = argc > 2 ? std::stoi(argv[2]) : 10000;
  const int points = argc > 3 ? std::stoi(argv[3]) : 2000;
  std::filesystem::remove_all(ws);
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  const char *strategies[] = {"full", "lora", "adapters", "bitfit", "ia3", "partial"};
  {
    RunStore store(ws);
    const auto start = Clock::now();
    for (int r = 0; r < runs; ++r) {
      const std::string strategy = strategies[r % 6];
      const double lr = std::pow(10.0, -5 + 2 * u(rng));
      const std::string yaml = "name: run-" + std::to_string(r) + "\nseed: " + std::to_string(r) +
                               "\nstrategy:\n  name: " + strategy + "\n  lora: {r: " + std::to_string(4 << (r % 3)) +
                               "}\ntraining:\n  learning_rate: " + std::to_string(lr) + "\n  batch_size: " +
                               std::to_string(8 << (r % 3)) + "\n  epochs: 5\nmodel:\n  path: models/m\n";
      const std::int64_t id = store.createRun("run-" + std::to_string(r), ws / ("run-" + std::to_string(r)), yaml);
      const int evalPoints = points / 10;
      for (int s = 0; s < points - evalPoints; ++s)
        store.addMetric(id, "train", "loss", s + 1, s * 5 / points, s * 0.1, 1.0 / (1.0 + 0.01 * s) + 0.05 * u(rng));
      for (int s = 0; s < evalPoints; ++s)
        store.addMetric(id, "validation", "accuracy", (s + 1) * 10, s * 5 / evalPoints, s * 1.0, 0.5 + 0.4 * u(rng));
      store.setSummary(id, "test", "accuracy", 0.5 + 0.45 * u(rng));
      store.setSummary(id, "test", "macro_f1", 0.5 + 0.45 * u(rng));
      store.setStatus(id, RunStatus::Finished, "", 100 * u(rng));
    }
    std::printf("built %d runs × %d points in %.1f s (%.0f points/s); database %.0f MiB\n", runs, points, since(start),
                static_cast<double>(runs) * points / since(start),
                static_cast<double>(std::filesystem::file_size(ws / "runs.sqlite")) / 1048576.0);
  }
  RunStore store(ws); // a fresh connection: nothing cached
  for (int pass = 0; pass < 3; ++pass) {
    auto t = Clock::now();
    RunQuery q;
    q.filters = {RunFilter::parse("strategy.name=lora"), RunFilter::parse("training.learning_rate<1e-4"),
                 RunFilter::parse("test.accuracy>0.8")};
    q.sortBy = "test.accuracy";
    q.limit = 100;
    const auto listed = store.list(q);
    const double listSeconds = since(t);
    t = Clock::now();
    RunQuery all;
    all.sortBy = "test.accuracy";
    all.limit = 50;
    const auto top = store.list(all);
    const double topSeconds = since(t);
    std::vector<std::int64_t> five;
    for (std::size_t i = 0; i < 5 && i < top.size(); ++i)
      five.push_back(top[i].id);
    t = Clock::now();
    const RunComparison c = store.compare(five);
    const double compareSeconds = since(t);
    std::size_t seriesPoints = 0;
    for (const auto &[name, perRun] : c.series)
      for (const auto &s : perRun)
        seriesPoints += s.size();
    std::printf("pass %d: filtered listing (3 filters, sorted, %zu runs) %.1f ms; top-50 by test.accuracy %.1f ms; "
                "5-run comparison (%zu differing keys, %zu series points) %.1f ms\n",
                pass + 1, listed.size(), listSeconds * 1000, topSeconds * 1000, c.configDiff.size(), seriesPoints,
                compareSeconds * 1000);
  }
  return 0;
}
