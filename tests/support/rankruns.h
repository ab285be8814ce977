#pragma once
// What the data-parallel tests share: tunebench-cli runs in a temporary folder with the
// distributed environment cleared, BERT-mini (random weights) as the model, and readers of a
// run's events and results.
#include "support/cli.h"
#include "support/golden.h"
#include "support/history.h"

#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QProcessEnvironment>
#include <QStringList>
#include <QTemporaryDir>

namespace tunebench::testing {

class RankRuns
{
protected:
  using Result = CliResult;

  QString m_cli;
  QTemporaryDir m_dir;

  // tunebench-cli found, and BERT-mini's folder written; an empty string, else what is wrong.
  QString prepare()
  {
    m_cli = qEnvironmentVariable("TUNEBENCH_BIN_DIR") + QStringLiteral("/tunebench-cli");
    if (!QFile::exists(m_cli))
      return QStringLiteral("set TUNEBENCH_BIN_DIR to the folder of tunebench-cli");
    if (!m_dir.isValid())
      return QStringLiteral("no temporary folder");
    torch::set_num_threads(1);
    // BERT-mini's shape (Turc et al. 2019) with bert-base-uncased's vocabulary, weights random.
    if (!QDir().mkpath(path(QStringLiteral("bert-mini"))))
      return QStringLiteral("cannot make the model folder");
    const QString tokenizer = assetPath(QStringLiteral("tokenizers/bert-base-uncased/"));
    for (const QString &file : QDir(tokenizer).entryList(QDir::Files))
      if (!QFile::copy(tokenizer + file, path(QStringLiteral("bert-mini/")) + file))
        return QStringLiteral("cannot copy ") + file;
    QFile config(path(QStringLiteral("bert-mini/config.json")));
    if (!config.open(QIODevice::WriteOnly))
      return QStringLiteral("cannot write the model's config.json");
    config.write("{\"model_type\": \"bert\", \"hidden_size\": 256, \"num_hidden_layers\": 4, "
                 "\"num_attention_heads\": 4,\n"
                 " \"intermediate_size\": 1024, \"vocab_size\": 30522, \"max_position_embeddings\": 512,\n"
                 " \"type_vocab_size\": 2, \"hidden_act\": \"gelu\", \"hidden_dropout_prob\": 0.1,\n"
                 " \"attention_probs_dropout_prob\": 0.1, \"layer_norm_eps\": 1e-12, \"pad_token_id\": 0}\n");
    return {};
  }

  QProcessEnvironment env() const
  {
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert(QStringLiteral("TUNEBENCH_ASSETS"), assetsDir());
    e.insert(QStringLiteral("TUNEBENCH_WORKSPACE"), m_dir.filePath(QStringLiteral("workspace")));
    for (const char *name :
         {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
      e.remove(QString::fromLatin1(name));
    return e;
  }

  Result run(const QStringList &args, int timeoutMs = 600000)
  {
    return runCli(m_cli, args, env(), timeoutMs);
  }

  QString path(const QString &name) const { return m_dir.filePath(name); }

  // BERT-mini (4 layers, 256 wide) from random weights on review sentences: 1,119 training rows,
  // so the epoch's last batch is short (31 rows, split 16 + 15 between the ranks).
  QString writeConfig(const QString &name)
  {
    const QString file = path(name + QStringLiteral(".yaml"));
    QFile f(file);
    if (!f.open(QIODevice::WriteOnly))
      return {};
    f.write(QStringLiteral(
                "name: %1\nseed: 7\n"
                "model: {path: %2, init: random, max_length: 32}\n"
                "task: {kind: single_label}\n"
                "data: {path: $ASSETS/data/sentiment/pang-lee-sentences.csv, subset_rows: 1397,\n"
                "       split: {train: 0.8, validation: 0.1, test: 0.1, stratified: true}}\n"
                "training: {epochs: 1, batch_size: 32, learning_rate: 2.0e-4, precision: fp32, dropout: 0,\n"
                "           distributed: {timeout: 20}}\n"
                "strategy: {lora: {dropout: 0}}\n"
                "evaluation: {metric: accuracy}\n")
                .arg(name, path(QStringLiteral("bert-mini")))
                .toUtf8());
    return file;
  }

  static QJsonObject results(const QString &run)
  {
    QFile f(run + QStringLiteral("/results.json"));
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
  }

  static QStringList withSettings(QStringList args, const QStringList &settings)
  {
    for (const QString &s : settings)
      args << QStringLiteral("--set") << s;
    return args;
  }

  // A metric of a run's test evaluation (results.json).
  static double testMetric(const QJsonObject &results, const char *name)
  {
    return results.value(QStringLiteral("test"))
        .toObject()
        .value(QStringLiteral("metrics"))
        .toObject()
        .value(QLatin1String(name))
        .toDouble();
  }

  static qint64 steps(const QString &run) { return runEvents(run, QStringLiteral("step")).size(); }
};

} // namespace tunebench::testing
