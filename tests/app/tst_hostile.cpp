// The hostile-input suite: tunebench-cli given bad command lines, data files, experiment configs,
// model folders (config.json, safetensors, crafted pickles, TF.js manifests), tokenizer files, run
// state folders and run bundles, as a hostile but fair user would. Every case must end within its
// time limit, without a crash, with the documented exit code (2 for a bad command line, 3 for a
// bad file or config), a message that names the file or field, and none of a library's raw text.
// TUNEBENCH_HOSTILE_DUMP=1 prints what each case printed.
#include "support/cli.h"
#include "support/golden.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <sys/stat.h>

using namespace tunebench::testing;

namespace {

struct File
{
  QString path;       // relative to the case's folder; ending in "/": a folder
  QByteArray content; // "@golden:PATH": a copy of tests/golden/PATH
};

struct Case
{
  QString name;
  QStringList args; // {d}: the case's folder
  QList<File> files;
  int exit = 3;
  QString message; // a phrase the output must hold
  QString names;   // what the message must name (default: the first file)
};

QByteArray le(std::uint64_t v, int n)
{
  QByteArray s;
  for (int k = 0; k < n; ++k, v >>= 8)
    s.append(static_cast<char>(v & 0xff));
  return s;
}

QByteArray golden(const QString &path)
{
  QFile f(goldenDir(QString()) + QLatin1Char('/') + path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A zip of stored records, as torch.save writes one.
QByteArray zip(const QList<QPair<QByteArray, QByteArray>> &records)
{
  QByteArray out, dir;
  for (const auto &[name, data] : records) {
    const auto local = static_cast<std::uint64_t>(out.size());
    const auto size = static_cast<std::uint64_t>(data.size());
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) + le(size, 4) +
           le(size, 4) + le(static_cast<std::uint64_t>(name.size()), 2) + le(0, 2) + name + data;
    dir += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) +
           le(size, 4) + le(size, 4) + le(static_cast<std::uint64_t>(name.size()), 2) + le(0, 2) + le(0, 2) +
           le(0, 2) + le(0, 2) + le(0, 4) + le(local, 4) + name;
  }
  const auto at = static_cast<std::uint64_t>(out.size());
  const auto n = static_cast<std::uint64_t>(records.size());
  return out + dir + le(0x06054b50, 4) + le(0, 4) + le(n, 2) + le(n, 2) +
         le(static_cast<std::uint64_t>(dir.size()), 4) + le(at, 4) + le(0, 2);
}

QByteArray pickleBin(const QByteArray &pickle, const QByteArray &storage = QByteArray(24, '\0'))
{
  return zip({{"archive/data.pkl", pickle}, {"archive/data/0", storage}});
}

// {"w": _rebuild_tensor_v2(FloatStorage "0" of `numel`, offset, (sizes), (strides), False, OrderedDict())}
QByteArray statePickle(int numel, int offset, const QList<int> &sizes, const QList<int> &strides)
{
  const auto str = [](const QByteArray &s) { return "X" + le(static_cast<std::uint64_t>(s.size()), 4) + s; };
  const auto ints = [](const QList<int> &v) {
    QByteArray t = "(";
    for (int x : v)
      t += "J" + le(static_cast<std::uint32_t>(x), 4);
    return t + "t";
  };
  return "\x80\x02}(" + str("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" + str("storage") +
         "ctorch\nFloatStorage\n" + str("0") + str("cpu") + "J" + le(static_cast<std::uint32_t>(numel), 4) +
         "tQ" + "J" + le(static_cast<std::uint32_t>(offset), 4) + ints(sizes) + ints(strides) +
         "\x89"
         "ccollections\nOrderedDict\n)RtRu.";
}

// A safetensors file from a header (JSON text) and data bytes.
QByteArray safetensors(const QByteArray &header, const QByteArray &data)
{
  return le(static_cast<std::uint64_t>(header.size()), 8) + header + data;
}

const QByteArray kBertConfig = "@golden:models/bert/config.json";
const QByteArray kBertWeights = "@golden:models/bert/model.safetensors";

QByteArray bertConfigWith(const QByteArray &from, const QByteArray &to)
{
  QByteArray c = golden(QStringLiteral("models/bert/config.json"));
  c.replace(from, to);
  return c;
}

const QByteArray kData = "text,label\ngood film,pos\nbad film,neg\nfine acting,pos\ndull plot,neg\n"
                         "great cast,pos\nweak ending,neg\nlovely,pos\nboring,neg\nsuperb,pos\nawful,neg\n";

// A valid experiment on USE-Lite with one change: top-level `key: value` lines of `extra` replace
// the base's line for that key or are added.
QByteArray config(const QByteArray &extra = {}, bool replaceAll = false)
{
  if (replaceAll)
    return extra;
  QList<QByteArray> lines = {"name: hostile", "model: {path: $ASSETS/models/use-lite, max_length: 16}",
                             "task: {kind: single_label}", "data: {path: data.csv}", "output: {runs: runs}"};
  for (const QByteArray &line : extra.split('\n')) {
    const qsizetype colon = line.indexOf(':');
    if (line.isEmpty() || line.startsWith(' ') || colon < 0)
      continue;
    const QByteArray key = line.left(colon + 1);
    if (key.contains('{') || key.contains('['))
      continue;
    lines.removeIf([&](const QByteArray &l) { return l.startsWith(key); });
  }
  return lines.join('\n') + '\n' + extra;
}

QList<Case> commandLines()
{
  // A valid experiment is at {d}/x.yaml: only the command line is wrong.
  const auto c = [](const char *name, QStringList args, const char *message) {
    return Case{QString::fromUtf8(name),
                std::move(args),
                {{QStringLiteral("x.yaml"), config()}, {QStringLiteral("data.csv"), kData}},
                2,
                QString::fromUtf8(message),
                QString::fromUtf8(message)};
  };
  const QString x = QStringLiteral("{d}/x.yaml");
  return {
      c("no command", {}, "usage:"),
      c("unknown command", {QStringLiteral("trian")}, "did you mean \"train\""),
      c("unknown global option", {QStringLiteral("--bogus")}, "--bogus"),
      c("threads not a number",
        {QStringLiteral("--threads"), QStringLiteral("abc"), QStringLiteral("version")}, "--threads"),
      c("threads zero", {QStringLiteral("--threads"), QStringLiteral("0"), QStringLiteral("version")},
        "--threads"),
      c("threads huge",
        {QStringLiteral("--threads"), QStringLiteral("99999999999"), QStringLiteral("version")}, "--threads"),
      c("train without config", {QStringLiteral("train")}, "train needs one CONFIG.yaml"),
      c("train two configs", {QStringLiteral("train"), x, x}, "train needs one CONFIG.yaml"),
      c("train unknown option", {QStringLiteral("train"), x, QStringLiteral("--sanityy")}, "--sanity"),
      c("set without =", {QStringLiteral("train"), x, QStringLiteral("--set"), QStringLiteral("seed")},
        "--set seed: expected key.path=value"),
      c("set with empty key", {QStringLiteral("train"), x, QStringLiteral("--set"), QStringLiteral("=3")},
        "--set =3"),
      c("cv folds not a number", {QStringLiteral("cv"), x, QStringLiteral("--folds"), QStringLiteral("five")},
        "--folds"),
      c("cv folds one", {QStringLiteral("cv"), x, QStringLiteral("--folds"), QStringLiteral("1")}, "--folds"),
      c("cv option without value", {QStringLiteral("cv"), x, QStringLiteral("--folds")},
        "--folds needs a value"),
      c("resume without run", {QStringLiteral("resume")}, "resume"),
      c("eval without run", {QStringLiteral("eval")}, "eval"),
      c("eval unknown option",
        {QStringLiteral("eval"), QStringLiteral("r"), QStringLiteral("--splt"), QStringLiteral("test")},
        "did you mean --split"),
      c("predict without text", {QStringLiteral("predict")}, "predict"),
      c("sweep without grid", {QStringLiteral("sweep"), x}, "sweep needs --grid"),
      c("sweep bad grid", {QStringLiteral("sweep"), x, QStringLiteral("--grid"), QStringLiteral("lr")},
        "--grid lr: expected key=a,b"),
      c("sweep bad range",
        {QStringLiteral("sweep"), x, QStringLiteral("--random"), QStringLiteral("3"),
         QStringLiteral("--range"), QStringLiteral("lr=a:b")},
        "is not a number"),
      c("sweep log range at zero",
        {QStringLiteral("sweep"), x, QStringLiteral("--range"), QStringLiteral("lr=0:1:log")},
        "positive bounds"),
      c("sweep zero seeds",
        {QStringLiteral("sweep"), x, QStringLiteral("--grid"), QStringLiteral("seed=1,2"),
         QStringLiteral("--seeds"), QStringLiteral("0")},
        "--seeds"),
      c("runs unknown sub-command", {QStringLiteral("runs"), QStringLiteral("lsit")},
        "runs: unknown sub-command"),
      c("runs show without id", {QStringLiteral("runs"), QStringLiteral("show")}, "show"),
      c("data check without file", {QStringLiteral("data"), QStringLiteral("check")},
        "data check needs one data file"),
      c("data unknown task",
        {QStringLiteral("data"), QStringLiteral("check"), QStringLiteral("a.csv"), QStringLiteral("--task"),
         QStringLiteral("bogus")},
        "--task: unknown task"),
      c("export without run", {QStringLiteral("export")}, "export needs one run folder"),
      c("export unknown format",
        {QStringLiteral("export"), QStringLiteral("run"), QStringLiteral("--format"),
         QStringLiteral("onnx2")},
        "unknown export format \"onnx2\""),
      c("tokenize without source", {QStringLiteral("tokenize")}, "tokenize"),
      c("ensemble one run", {QStringLiteral("ensemble")}, "ensemble"),
  };
}

QList<Case> dataFiles()
{
  const auto d = [](const char *name, const char *file, const QByteArray &content, const char *message,
                    const char *task = "single_label") {
    return Case{QString::fromUtf8(name),
                {QStringLiteral("data"), QStringLiteral("check"),
                 QStringLiteral("{d}/") + QString::fromUtf8(file), QStringLiteral("--task"),
                 QString::fromUtf8(task)},
                {{QString::fromUtf8(file), content}},
                3,
                QString::fromUtf8(message),
                QString()};
  };
  const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
  return {
      d("csv empty", "a.csv", "", "the file is empty"),
      d("csv header only", "a.csv", "text,label\n", "no data rows"),
      d("csv unclosed quote", "a.csv", "text,label\n\"open,pos\n", "quoted field never closed"),
      d("csv text after quote", "a.csv", "text,label\n\"good\" film,pos\n", "after a closing quote"),
      d("csv too many fields", "a.csv", "text,label\ngood,pos,extra\n", "found 3"),
      d("csv too few fields", "a.csv", "text,label\ngood\n", "found 1"),
      d("csv bad utf-8", "a.csv", "text,label\ngo\xffod,pos\n", "invalid UTF-8"),
      d("csv nul byte", "a.csv", QByteArray("text,label\ngo\0od,pos\n", 21), "NUL"),
      d(
          "csv 100,000 columns", "a.csv",
          [] {
            QByteArray header, row;
            for (int i = 0; i < 100000; ++i) {
              header += (i ? ",c" : "c") + QByteArray::number(i);
              row += i ? ",x" : "x";
            }
            return header + "\n" + row + "\n";
          }(),
          "100000 columns in all"),
      d("csv utf-16", "a.csv", QByteArray("\xff\xfet\0e\0x\0t\0", 10), "UTF-16"),
      d("csv empty label", "a.csv", "text,label\ngood,\n", "label"),
      d("csv duplicate header", "a.csv", "text,text,label\na,b,pos\n", "text"),
      d("csv binary", "a.csv",
        QByteArray("\x7f"
                   "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
                   16),
        "NUL byte"),
      d("tsv wrong fields", "a.tsv", "text\tlabel\ngood\tpos\textra\n", "found 3"),
      d("tsv bad utf-8", "a.tsv", "text\tlabel\n\xc3(\tpos\n", "invalid UTF-8"),
      d("jsonl not an object", "a.jsonl", "[1, 2]\n", "expected a JSON object"),
      d("jsonl invalid", "a.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \n", "invalid JSON"),
      d("jsonl deep", "a.jsonl", "{\"text\": " + deep + "}\n", "nested deeper"),
      d("jsonl huge number", "a.jsonl", "{\"text\": \"a\", \"label\": 1e999}\n", "too large"),
      d("jsonl no objects", "a.jsonl", "\n\n", "no JSON objects"),
      d("jsonl trailing garbage", "a.jsonl", "{\"text\": \"a\", \"label\": \"pos\"} x\n", "invalid JSON"),
      d("json not an array", "a.json", "{\"text\": \"a\"}", "expected an array"),
      d("json invalid", "a.json", "[{\"text\": \"a\",]", "invalid JSON"),
      d("json empty", "a.json", "", "empty"),
      d("json deep", "a.json", deep, "nested deeper"),
      d("json huge number", "a.json", "[{\"text\": \"a\", \"label\": -1e400}]", "too large"),
      d("json array of numbers", "a.json", "[1, 2, 3]", "object"),
      d("conll one column", "a.conll", "EU\nrejects\n", "column", "token_tagging"),
      d("conll bad utf-8", "a.conll", "EU B-ORG\nre\xffjects O\n", "invalid UTF-8", "token_tagging"),
      d("conll empty", "a.conll", "", "no sentences", "token_tagging"),
      d("conll only comments", "a.conll", "# sent_id = 1\n-DOCSTART- O\n", "no sentences", "token_tagging"),
      d("txt empty", "a.txt", "", "no lines of text", "language_model"),
      d("txt only blank lines", "a.txt", "\n  \n\t\n", "no lines of text", "language_model"),
      d("txt utf-16", "a.txt", QByteArray("\xfe\xff\0a\0b", 6), "UTF-16", "language_model"),
      d("jsonl nul byte", "a.jsonl", QByteArray("{\"text\": \"a\0b\", \"label\": \"x\"}\n", 31), "NUL",
        "single_label"),
      d("txt bad utf-8", "a.txt", "fine\n\xfe\n", "invalid UTF-8", "language_model"),
      d("unknown extension", "a.xlsx", "PK", "xlsx"),
      Case{QStringLiteral("a folder as data"),
           {QStringLiteral("data"), QStringLiteral("check"), QStringLiteral("{d}/data.csv")},
           {{QStringLiteral("data.csv/"), {}}},
           3,
           QStringLiteral("folder"),
           QString()},
      Case{QStringLiteral("a device as data"),
           {QStringLiteral("data"), QStringLiteral("check"), QStringLiteral("/dev/zero")},
           {},
           3,
           QStringLiteral("unknown data format"),
           QStringLiteral("/dev/zero")},
      Case{QStringLiteral("a device behind a .csv name"),
           {QStringLiteral("data"), QStringLiteral("check"), QStringLiteral("{d}/zero.csv")},
           {{QStringLiteral("zero.csv"), "@symlink:/dev/zero"}},
           3,
           QStringLiteral("not a regular file"),
           QString()},
      Case{QStringLiteral("a FIFO as data"),
           {QStringLiteral("data"), QStringLiteral("check"), QStringLiteral("{d}/fifo.csv")},
           {{QStringLiteral("fifo.csv"), "@fifo"}},
           3,
           QStringLiteral("not a regular file"),
           QString()},
      Case{QStringLiteral("a missing file"),
           {QStringLiteral("data"), QStringLiteral("check"), QStringLiteral("{d}/none.csv")},
           {},
           3,
           QStringLiteral("none.csv"),
           QStringLiteral("none.csv")},
  };
}

QList<Case> configs()
{
  const auto c = [](const char *name, const QByteArray &yaml, const char *message, const char *names = "",
                    bool replaceAll = false) {
    return Case{QString::fromUtf8(name),
                {QStringLiteral("train"), QStringLiteral("{d}/c.yaml"), QStringLiteral("--check")},
                {{QStringLiteral("c.yaml"), config(yaml, replaceAll)}, {QStringLiteral("data.csv"), kData}},
                3,
                QString::fromUtf8(message),
                *names ? QString::fromUtf8(names) : QStringLiteral("c.yaml")};
  };
  QByteArray bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char k = 'b'; k <= 'j'; ++k)
    bomb += QByteArray(1, k) + ": &" + QByteArray(1, k) + " [*" + QByteArray(1, k - 1) + ", *" +
            QByteArray(1, k - 1) + ", *" + QByteArray(1, k - 1) + ", *" + QByteArray(1, k - 1) + ", *" +
            QByteArray(1, k - 1) + ", *" + QByteArray(1, k - 1) + ", *" + QByteArray(1, k - 1) + ", *" +
            QByteArray(1, k - 1) + ", *" + QByteArray(1, k - 1) + ", *" + QByteArray(1, k - 1) + "]\n";
  return {
      c("empty file", "", "the file holds no settings", "", true),
      c("only a comment", "# nothing here\n", "the file holds no settings", "", true),
      c("not YAML", "training: [1, 2\n", "", "c.yaml"),
      c("a list at the top", "- a\n- b\n", "expected a map of settings", "", true),
      c("tab indentation", "training:\n\tepochs: 2\n", "c.yaml:"),
      c("unknown key", "trainig: {epochs: 2}\n", "trainig"),
      c("unknown nested key", "training: {epoch: 2}\n", "training.epoch"),
      c("epochs a word", "training: {epochs: many}\n", "training.epochs"),
      c("epochs negative", "training: {epochs: -1}\n", "training.epochs"),
      c("epochs huge", "training: {epochs: 99999999999999}\n", "training.epochs"),
      c("epochs float", "training: {epochs: 1.5}\n", "training.epochs"),
      c("batch size zero", "training: {batch_size: 0}\n", "training.batch_size"),
      c("learning rate negative", "training: {learning_rate: -0.1}\n", "training.learning_rate"),
      c("learning rate nan", "training: {learning_rate: .nan}\n", "training.learning_rate"),
      c("learning rate inf", "training: {learning_rate: .inf}\n", "training.learning_rate"),
      c("unknown optimizer", "training: {optimizer: adamx}\n", "training.optimizer"),
      c("unknown scheduler", "training: {scheduler: {name: cosin}}\n", "training.scheduler.name"),
      c("unknown strategy", "strategy: {name: lorra}\n", "strategy.name"),
      c("lora rank zero", "strategy: {name: lora, lora: {rank: 0}}\n", "rank"),
      c("unknown task kind", "task: {kind: regression}\n", "task.kind", "", false),
      c("split sums past one", "data: {path: data.csv, split: {train: 0.9, validation: 0.2, test: 0.1}}\n",
        "split"),
      c("split negative", "data: {path: data.csv, split: {train: -0.5}}\n", "split"),
      c("missing data file", "data: {path: nothing.csv}\n", "nothing.csv"),
      c("missing model folder", "model: {path: /nonexistent/model}\n", "model.path"),
      c("max length zero", "model: {path: $ASSETS/models/use-lite, max_length: 0}\n", "model.max_length"),
      c("seed a list", "seed: [1, 2]\n", "seed"),
      c("name a map", "name: {a: 1}\n", "name"),
      c("alias bomb", bomb, "", "c.yaml"),
      c("duplicate key", "seed: 1\nseed: 2\n", "seed: appears twice"),
      c("duplicate nested key", "training: {epochs: 1, epochs: 3}\n", "training.epochs: appears twice"),
      c("metric unknown", "evaluation: {metric: acuracy}\n", "evaluation.metric"),
      c("patience negative", "evaluation: {early_stopping: {patience: -2}}\n", "patience"),
      c("precision unknown", "training: {precision: fp8}\n", "training.precision"),
      c("binary junk", QByteArray("\x00\x01\x02\xff\xfe", 5), "", "c.yaml", true),
      Case{QStringLiteral("config is a folder"),
           {QStringLiteral("train"), QStringLiteral("{d}/c.yaml")},
           {{QStringLiteral("c.yaml/"), {}}},
           3,
           QStringLiteral("folder"),
           QStringLiteral("c.yaml")},
      Case{QStringLiteral("bad --set value"),
           {QStringLiteral("train"), QStringLiteral("{d}/c.yaml"), QStringLiteral("--check"),
            QStringLiteral("--set"), QStringLiteral("training.epochs=lots")},
           {{QStringLiteral("c.yaml"), config()}, {QStringLiteral("data.csv"), kData}},
           3,
           QStringLiteral("training.epochs"),
           QStringLiteral("training.epochs")},
      Case{QStringLiteral("--set unknown key"),
           {QStringLiteral("train"), QStringLiteral("{d}/c.yaml"), QStringLiteral("--check"),
            QStringLiteral("--set"), QStringLiteral("training.epochz=2")},
           {{QStringLiteral("c.yaml"), config()}, {QStringLiteral("data.csv"), kData}},
           3,
           QStringLiteral("training.epochz"),
           QStringLiteral("training.epochz")},
  };
}

QList<Case> modelFolders()
{
  const auto m = [](const char *name, QList<File> files, const char *message, const char *names = "") {
    return Case{QString::fromUtf8(name),    {QStringLiteral("inspect"), QStringLiteral("{d}/m")},
                std::move(files),           3,
                QString::fromUtf8(message), *names ? QString::fromUtf8(names) : QString()};
  };
  const auto cfg = [](const QByteArray &c) { return File{QStringLiteral("m/config.json"), c}; };
  const auto w = [](const QByteArray &c) { return File{QStringLiteral("m/model.safetensors"), c}; };
  const auto bin = [](const QByteArray &c) { return File{QStringLiteral("m/pytorch_model.bin"), c}; };
  const QByteArray goodWeights = golden(QStringLiteral("models/bert/model.safetensors"));
  const QByteArray f32x4 = QByteArray(16, '\0');
  const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
  return {
      m("no folder", {}, "m"),
      m("empty folder", {{QStringLiteral("m/"), {}}}, "no config.json", "m"),
      m("config not JSON", {cfg("{model_type: bert"), w(kBertWeights)}, "not valid JSON", "config.json"),
      m("config deep", {cfg(deep), w(kBertWeights)}, "nested deeper", "config.json"),
      m("config empty", {cfg(""), w(kBertWeights)}, "config.json", "config.json"),
      m("config a list", {cfg("[1, 2]"), w(kBertWeights)}, "config.json", "config.json"),
      m("config huge number", {cfg("{\"model_type\": \"bert\", \"hidden_size\": 1e999}"), w(kBertWeights)},
        "too large", "config.json"),
      m("unknown model type", {cfg("{\"model_type\": \"llama\"}"), w(kBertWeights)}, "llama", "config.json"),
      m("model type a number", {cfg("{\"model_type\": 7}"), w(kBertWeights)}, "model_type", "config.json"),
      m("hidden size a string",
        {cfg(bertConfigWith("\"hidden_size\": 32", "\"hidden_size\": \"32\"")), w(kBertWeights)},
        "hidden_size", "config.json"),
      m("hidden size 1e10",
        {cfg(bertConfigWith("\"hidden_size\": 32", "\"hidden_size\": 10000000000")), w(kBertWeights)},
        "hidden_size", "config.json"),
      m("hidden size negative",
        {cfg(bertConfigWith("\"hidden_size\": 32", "\"hidden_size\": -32")), w(kBertWeights)}, "hidden_size",
        "config.json"),
      m("heads do not divide",
        {cfg(bertConfigWith("\"num_attention_heads\": 4", "\"num_attention_heads\": 5")), w(kBertWeights)},
        "attention heads", "config.json"),
      m("a million layers",
        {cfg(bertConfigWith("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000")), w(kBertWeights)},
        "config.json", "config.json"),
      m("vocabulary zero", {cfg(bertConfigWith("\"vocab_size\": 97", "\"vocab_size\": 0")), w(kBertWeights)},
        "vocab_size", "config.json"),
      m("no weights", {cfg(kBertConfig)}, "no weights", "m"),
      m("safetensors empty", {cfg(kBertConfig), w("")}, "model.safetensors", "model.safetensors"),
      m("safetensors truncated", {cfg(kBertConfig), w(goodWeights.left(goodWeights.size() / 2))},
        "model.safetensors", "model.safetensors"),
      m("safetensors header past the file", {cfg(kBertConfig), w(le(1ULL << 40, 8) + "{}")},
        "model.safetensors", "model.safetensors"),
      m("safetensors header not JSON", {cfg(kBertConfig), w(safetensors("{\"w\": [", f32x4))},
        "model.safetensors", "model.safetensors"),
      m("safetensors header deep", {cfg(kBertConfig), w(safetensors(deep, f32x4))}, "nested deeper",
        "model.safetensors"),
      m("safetensors unknown dtype",
        {cfg(kBertConfig),
         w(safetensors("{\"w\":{\"dtype\":\"F12\",\"shape\":[4],\"data_offsets\":[0,16]}}", f32x4))},
        "dtype", "model.safetensors"),
      m("safetensors offsets past the data",
        {cfg(kBertConfig),
         w(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1600]}}", f32x4))},
        "outside the", "model.safetensors"),
      m("safetensors offsets reversed",
        {cfg(kBertConfig),
         w(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", f32x4))},
        "model.safetensors", "model.safetensors"),
      m("safetensors shape overflows",
        {cfg(kBertConfig),
         w(safetensors(
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}",
             f32x4))},
        "too large", "model.safetensors"),
      m("safetensors shape negative",
        {cfg(kBertConfig),
         w(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", f32x4))},
        "model.safetensors", "model.safetensors"),
      m("safetensors entry not an object", {cfg(kBertConfig), w(safetensors("{\"w\": 5}", f32x4))},
        "model.safetensors", "model.safetensors"),
      m("pickle REDUCE on empty stack", {cfg(kBertConfig), bin(pickleBin("\x80\x02R."))}, "does not hold",
        "pytorch_model.bin"),
      m("pickle view past storage", {cfg(kBertConfig), bin(pickleBin(statePickle(6, 0, {100}, {1})))},
        "past its storage", "pytorch_model.bin"),
      m("pickle offset past storage", {cfg(kBertConfig), bin(pickleBin(statePickle(6, 5, {2}, {1})))},
        "past its storage", "pytorch_model.bin"),
      m("pickle calls os.system",
        {cfg(kBertConfig), bin(pickleBin("\x80\x02"
                                         "cos\nsystem\nX" +
                                         le(4, 4) + "true\x85R."))},
        "not part of a state dict", "pytorch_model.bin"),
      m("pickle storage too short",
        {cfg(kBertConfig), bin(pickleBin(statePickle(6, 0, {6}, {1}), QByteArray(8, '\0')))}, "should hold",
        "pytorch_model.bin"),
      m("pickle not a zip", {cfg(kBertConfig), bin(QByteArray(64, 'x'))}, "pytorch_model.bin",
        "pytorch_model.bin"),
      m("pickle truncated zip",
        {cfg(kBertConfig), bin(golden(QStringLiteral("models/bert/pytorch_model.bin")).left(5000))},
        "pytorch_model.bin", "pytorch_model.bin"),
      m("tfjs manifest not JSON", {{QStringLiteral("m/model.json"), "{\"weightsManifest\": ["}}, "model.json",
        "model.json"),
      m("tfjs manifest empty object", {{QStringLiteral("m/model.json"), "{}"}}, "model.json", "model.json"),
      m("tfjs shard missing",
        {{QStringLiteral("m/model.json"),
          "{\"modelTopology\": {}, \"weightsManifest\": [{\"paths\": [\"shard1\"], \"weights\": [{\"name\": "
          "\"w\", \"shape\": [4], \"dtype\": \"float32\"}]}]}"}},
        "model.json", "m"),
      m("tfjs shard path escapes",
        {{QStringLiteral("m/model.json"),
          "{\"modelTopology\": {}, \"weightsManifest\": [{\"paths\": [\"../../etc/passwd\"], \"weights\": "
          "[{\"name\": \"w\", \"shape\": [4], \"dtype\": \"float32\"}]}]}"}},
        "model.json", "m"),
  };
}

QList<Case> tokenizerFiles()
{
  const auto t = [](const char *name, const char *file, const QByteArray &content, const char *message) {
    return Case{QString::fromUtf8(name),
                {QStringLiteral("tokenize"), QStringLiteral("--tokenizer"),
                 QStringLiteral("{d}/") + QString::fromUtf8(file)},
                {{QString::fromUtf8(file), content}},
                3,
                QString::fromUtf8(message),
                QString()};
  };
  const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
  return {
      t("tokenizer.json not JSON", "tokenizer.json", "{\"model\": ", "tokenizer.json"),
      t("tokenizer.json deep", "tokenizer.json", "{\"model\": " + deep + "}", "nested deeper"),
      t("tokenizer.json no model", "tokenizer.json", "{}", "model"),
      t("tokenizer.json unknown model type", "tokenizer.json", "{\"model\": {\"type\": \"Magic\"}}", "Magic"),
      t("tokenizer.json vocab a number", "tokenizer.json",
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": 5}}", "vocab"),
      t("tokenizer.json negative id", "tokenizer.json",
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": -4}}}", "model.vocab"),
      t("tokenizer.json huge id", "tokenizer.json",
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 2147483647}}}", "model.vocab"),
      t("tokenizer.json a list", "tokenizer.json", "[1, 2]", "model"),
      t("tokenizer.json type a number", "tokenizer.json", "{\"model\": {\"type\": 3, \"vocab\": {}}}",
        "model.type"),
      t("tokenizer.json unigram scores wrong", "tokenizer.json",
        "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"]]}}", "tokenizer.json"),
      t("vocab.txt empty", "vocab.txt", "", "vocab.txt"),
      t("vocab.txt bad utf-8", "vocab.txt", "[PAD]\n\xff\xfe\n", "vocab.txt"),
      t("spiece.model junk", "spiece.model", "not a protobuf at all", "spiece.model"),
      t("spiece.model empty", "spiece.model", "", "spiece.model"),
      t("unknown tokenizer file", "tokens.bin", "x", "tokens.bin"),
      t("vocab.txt a FIFO", "vocab.txt", "@fifo", "not a regular file"),
      // Found by fuzz_tokenizer: a token given another's id was measured by the other's length and
      // encoding read past the text (heap overflow).
      Case{QStringLiteral("vocab.json with an id given twice"),
           {QStringLiteral("tokenize"), QStringLiteral("--tokenizer"), QStringLiteral("{d}/vocab.json")},
           {{QStringLiteral("vocab.json"), "{\"h\": 0, \"e\": 1, \"l\": 2, \"o\": 3, \"h&&&&&&&&&&e\": 1}"},
            {QStringLiteral("merges.txt"), "#version: 0.2\nh e\n"}},
           3,
           QStringLiteral("id 1 is given to two tokens"),
           QString()},
      t("tokenizer.json with an id given twice", "tokenizer.json",
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": 1, \"b\": 1}}}",
        "id 1 is given to two tokens"),
      t("tokenizer.json a FIFO", "tokenizer.json", "@fifo", "not a regular file"),
      t("spiece.model a FIFO", "spiece.model", "@fifo", "not a regular file"),
      Case{QStringLiteral("a model folder's vocab.txt a FIFO"),
           {QStringLiteral("tokenize"), QStringLiteral("--model"), QStringLiteral("{d}/m")},
           {{QStringLiteral("m/vocab.txt"), "@fifo"}},
           3,
           QStringLiteral("not a regular file"),
           QStringLiteral("vocab.txt")},
  };
}

// A run bundle: the magic line, the manifest, the files' bytes; `manifest` replaces the one made.
QByteArray bundle(const QList<QPair<QByteArray, QByteArray>> &files, const QByteArray &name = "run-x",
                  const QByteArray &manifest = {})
{
  QByteArray list, data;
  for (const auto &[path, content] : files) {
    list += QByteArray(list.isEmpty() ? "" : ",") + "{\"path\":\"" + path +
            "\",\"size\":" + QByteArray::number(content.size()) + ",\"sha256\":\"" +
            QCryptographicHash::hash(content, QCryptographicHash::Sha256).toHex() + "\"}";
    data += content;
  }
  const QByteArray m = manifest.isEmpty() ? "{\"name\":\"" + name + "\",\"files\":[" + list + "]}" : manifest;
  return "TUNEBENCH-BUNDLE 1\n" + m + "\n" + data;
}

QList<Case> bundles()
{
  const auto b = [](const char *name, const QByteArray &content, const char *message) {
    return Case{QString::fromUtf8(name),
                {QStringLiteral("runs"), QStringLiteral("import"), QStringLiteral("{d}/x.tbrun")},
                {{QStringLiteral("x.tbrun"), content}},
                3,
                QString::fromUtf8(message),
                QString()};
  };
  const QByteArray cfg = config();
  const QByteArray good = bundle({{"config.yaml", cfg}});
  QByteArray flipped = good;
  flipped[flipped.size() - 3] = 'X';
  QByteArray bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char k = 'b'; k <= 'j'; ++k) {
    QByteArray refs;
    for (int i = 0; i < 10; ++i)
      refs += QByteArray(i ? ", *" : "*") + QByteArray(1, static_cast<char>(k - 1));
    bomb += QByteArray(1, k) + ": &" + QByteArray(1, k) + " [" + refs + "]\n";
  }
  const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
  return {
      b("not a bundle", "hello, I am a text file\n", "not a tunebench run bundle"),
      b("empty bundle", "", "not a tunebench run bundle"),
      b("manifest not JSON", "TUNEBENCH-BUNDLE 1\n{\"name\": \n", "damaged manifest"),
      b("manifest without files", "TUNEBENCH-BUNDLE 1\n{\"name\": \"r\"}\n", "damaged manifest"),
      b("manifest nested deep", "TUNEBENCH-BUNDLE 1\n" + deep + "\n", "manifest"),
      b("run name escapes", bundle({{"config.yaml", cfg}}, "../escape"), "unsafe run name"),
      b("file path escapes", bundle({{"../../evil.txt", "x"}}), "unsafe path"),
      b("absolute file path", bundle({{"/tmp/evil.txt", "x"}}), "unsafe path"),
      b("no size", "TUNEBENCH-BUNDLE 1\n{\"name\":\"r\",\"files\":[{\"path\":\"config.yaml\"}]}\n",
        "no size"),
      b("a petabyte file",
        "TUNEBENCH-BUNDLE "
        "1\n{\"name\":\"r\",\"files\":[{\"path\":\"config.yaml\",\"size\":1000000000000000,\"sha256\":\"0\"}]"
        "}\n",
        "cut short"),
      b("cut short", good.left(good.size() - 10), "cut short"),
      b("checksum mismatch", flipped, "checksum mismatch"),
      b("config alias bomb", bundle({{"config.yaml", bomb}}), "config.yaml"),
      b("config not YAML", bundle({{"config.yaml", "model: [\n"}}),
        "config.yaml: line 2, column 1: not valid YAML"),
      b("files not objects", "TUNEBENCH-BUNDLE 1\n{\"name\":\"r\",\"files\":[3]}\n", "damaged manifest"),
      b("size a string",
        "TUNEBENCH-BUNDLE 1\n{\"name\":\"r\",\"files\":[{\"path\":\"config.yaml\",\"size\":\"9\"}]}\n",
        "no size"),
      Case{QStringLiteral("a folder as bundle"),
           {QStringLiteral("runs"), QStringLiteral("import"), QStringLiteral("{d}/x.tbrun")},
           {{QStringLiteral("x.tbrun/"), {}}},
           3,
           QStringLiteral("x.tbrun"),
           QString()},
  };
}

// `resume` on a copy of a run killed after its third step (state saved at step 2), damaged.
QList<Case> stateFolders()
{
  const auto r = [](const char *name, QList<File> damage, const char *message, const char *names) {
    damage.prepend({QStringLiteral("run"), "@run"});
    return Case{QString::fromUtf8(name),    {QStringLiteral("resume"), QStringLiteral("{d}/run")},
                std::move(damage),          3,
                QString::fromUtf8(message), QString::fromUtf8(names)};
  };
  const auto f = [](const char *path, const QByteArray &content) {
    return File{QString::fromUtf8(path), content};
  };
  return {
      r("trainer.json not JSON", {f("run/state/trainer.json", "{\"step\": ")}, "trainer.json",
        "trainer.json"),
      r("trainer.json a list", {f("run/state/trainer.json", "[1, 2]")}, "trainer.json", "trainer.json"),
      r("trainer.json step 1e9", {f("run/state/trainer.json", "@patch:\"step\": 2@\"step\": 1000000000")},
        "step", "trainer.json"),
      r("trainer.json step negative", {f("run/state/trainer.json", "@patch:\"step\": 2@\"step\": -5")},
        "step", "trainer.json"),
      r("trainer.json step a string", {f("run/state/trainer.json", "@patch:\"step\": 2@\"step\": \"two\"")},
        "step", "trainer.json"),
      r("model.pt garbage", {f("run/state/model.pt", "not a checkpoint")}, "model.pt", "model.pt"),
      r("model.pt empty", {f("run/state/model.pt", "")}, "model.pt", "model.pt"),
      r("optimizer.pt garbage", {f("run/state/optimizer.pt", QByteArray(4096, '\x55'))}, "optimizer.pt",
        "optimizer.pt"),
      r("config.yaml not YAML", {f("run/config.yaml", "model: [\n")}, "config.yaml", "config.yaml"),
      r("config.yaml invalid", {f("run/config.yaml", "training: {epochs: -1}\n")}, "training.epochs",
        "config.yaml"),
      r("run.json not JSON", {f("run/run.json", "{")}, "run.json", "run.json"),
      r("state missing its model", {f("run/state/model.pt", "@delete")}, "model.pt", "model.pt"),
      r("model.pt from another model", {f("run/state/model.pt", "@golden-archive")}, "model.pt", "model.pt"),
  };
}

QList<Case> hostileCases()
{
  QList<Case> all;
  for (const QList<Case> &group :
       {commandLines(), dataFiles(), configs(), modelFolders(), tokenizerFiles(), bundles(), stateFolders()})
    all += group;
  return all;
}

const QStringList kRawLibraryText = {QStringLiteral("internal error"),
                                     QStringLiteral("what()"),
                                     QStringLiteral("json.exception"),
                                     QStringLiteral("basic_"),
                                     QStringLiteral("std::"),
                                     QStringLiteral("c10::"),
                                     QStringLiteral("terminate called"),
                                     QStringLiteral("Exception raised from"),
                                     QStringLiteral("yaml-cpp"),
                                     QStringLiteral("bad_alloc"),
                                     QStringLiteral("Segmentation"),
                                     QStringLiteral("Aborted")};

} // namespace

class TestHostile : public QObject
{
  Q_OBJECT

  QString m_cli;
  QProcessEnvironment m_env;
  QTemporaryDir m_dir;
  QString m_run; // a run killed after its third step, its state saved at step 2

  static bool copyFolder(const QString &from, const QString &to)
  {
    QDir().mkpath(to);
    for (const QFileInfo &e : QDir(from).entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot)) {
      const QString target = to + QLatin1Char('/') + e.fileName();
      if (e.isDir() ? !copyFolder(e.filePath(), target) : !QFile::copy(e.filePath(), target))
        return false;
    }
    return true;
  }

private Q_SLOTS:
  void initTestCase()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    QVERIFY2(QFileInfo::exists(m_cli), qPrintable(m_cli));
    m_env = QProcessEnvironment::systemEnvironment();
    m_env.insert(QStringLiteral("TUNEBENCH_ASSETS"), assetsDir());
    QVERIFY(hostileCases().size() >= 150);
    // The run the state-folder cases damage copies of.
    QFile c(m_dir.filePath(QStringLiteral("c.yaml"))), d(m_dir.filePath(QStringLiteral("data.csv")));
    QVERIFY(c.open(QIODevice::WriteOnly) && d.open(QIODevice::WriteOnly));
    c.write(config("training: {max_steps: 4, batch_size: 2}\nevaluation: {every_steps: 2}\n"));
    d.write(kData);
    c.close();
    d.close();
    m_run = m_dir.filePath(QStringLiteral("run"));
    QProcessEnvironment env = m_env;
    env.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), m_dir.filePath(QStringLiteral("workspace")));
    env.insert(QStringLiteral("TUNEBENCH_FAULT_AT"), QStringLiteral("step:3"));
    const CliResult r =
        runCli(m_cli, {QStringLiteral("train"), c.fileName(), QStringLiteral("--run-dir"), m_run}, env);
    QVERIFY2(r.crashed, qPrintable(r.out + r.err));
    QVERIFY(QFile::exists(m_run + QStringLiteral("/state/trainer.json")));
  }

  void rejectsClearly_data()
  {
    QTest::addColumn<int>("index");
    const QList<Case> all = hostileCases();
    for (int i = 0; i < all.size(); ++i)
      QTest::newRow(qPrintable(all[i].name)) << i;
  }
  void rejectsClearly()
  {
    QFETCH(int, index);
    const Case c = hostileCases()[index];
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (const File &f : c.files) {
      const QString path = dir.filePath(f.path);
      QDir().mkpath(QFileInfo(path).path());
      if (f.content == "@delete") {
        QVERIFY(QFile::remove(path));
      } else if (f.content == "@golden-archive") { // a LibTorch archive of other tensors
        QVERIFY(QFile::remove(path));
        QVERIFY(QFile::copy(m_run + QStringLiteral("/state/optimizer.pt"), path));
      } else if (f.content == "@run") {
        QVERIFY(copyFolder(m_run, path));
      } else if (f.content.startsWith("@patch:")) { // "@patch:FROM@TO" in the file already there
        const QList<QByteArray> parts = f.content.mid(7).split('@');
        QFile in(path);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QByteArray text = in.readAll();
        in.close();
        QVERIFY2(text.contains(parts[0]), text.constData());
        text.replace(parts[0], parts[1]);
        QVERIFY(in.open(QIODevice::WriteOnly | QIODevice::Truncate));
        in.write(text);
      } else if (f.path.endsWith(QLatin1Char('/'))) {
        QVERIFY(QDir().mkpath(path));
      } else if (f.content == "@fifo") {
        QCOMPARE(mkfifo(path.toLocal8Bit().constData(), 0600), 0);
      } else if (f.content.startsWith("@symlink:")) {
        QVERIFY(QFile::link(QString::fromUtf8(f.content.mid(9)), path));
      } else {
        QFile out(path);
        QVERIFY(out.open(QIODevice::WriteOnly));
        const bool copy = f.content.startsWith("@golden:");
        const QByteArray content = copy ? golden(QString::fromUtf8(f.content.mid(8))) : f.content;
        QVERIFY2(!copy || !content.isEmpty(), f.content.constData());
        out.write(content);
      }
    }
    QStringList args;
    for (const QString &a : c.args)
      args << QString(a).replace(QStringLiteral("{d}"), dir.path());
    QProcessEnvironment env = m_env;
    env.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), dir.filePath(QStringLiteral("workspace")));
    const CliResult r = runCli(m_cli, args, env, 60000);
    const QString output = r.out + r.err;
    if (qEnvironmentVariableIsSet("TUNEBENCH_HOSTILE_DUMP"))
      qInfo().noquote() << c.name << "exit" << r.exitCode << "\n" << output.left(2000);
    QVERIFY2(r.exitCode != -1, "did not end within 60 s");
    QVERIFY2(!r.crashed, qPrintable(output));
    QVERIFY2(r.exitCode == c.exit,
             qPrintable(QStringLiteral("exit %1, expected %2:\n%3").arg(r.exitCode).arg(c.exit).arg(output)));
    QVERIFY2(output.contains(c.message),
             qPrintable(QStringLiteral("no \"%1\" in:\n%2").arg(c.message, output)));
    const QString names = !c.names.isEmpty()   ? c.names
                          : !c.files.isEmpty() ? QFileInfo(c.files.front().path).fileName()
                                               : QString();
    if (!names.isEmpty()) // the message names the file or field
      QVERIFY2(output.contains(names),
               qPrintable(QStringLiteral("\"%1\" not named in:\n%2").arg(names, output)));
    for (const QString &raw : kRawLibraryText)
      QVERIFY2(!output.contains(raw),
               qPrintable(QStringLiteral("raw library text \"%1\" in:\n%2").arg(raw, output)));
    QVERIFY2(output.size() < 4000, qPrintable(output.left(4000))); // a message, not a dump
  }
};

QTEST_MAIN(TestHostile)
#include "tst_hostile.moc"
