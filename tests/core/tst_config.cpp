// Experiment configs: defaults, every problem at once with line:column, "did you mean", ranges,
// overrides, and the resolved YAML reading back to the same config.
#include "core/config/experiment.h"

#include <QtTest/QtTest>

using namespace tunebench;

class TestConfig : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;

  std::string valid() const
  {
    return "name: t\nmodel:\n  path: model\ndata:\n  path: data.csv\n";
  }

  static QString joined(const ConfigResult &r)
  {
    QStringList lines;
    for (const ConfigProblem &p : r.problems)
      lines << QString::fromStdString(p.str("c.yaml"));
    return lines.join(QLatin1Char('\n'));
  }

private Q_SLOTS:
  void initTestCase()
  {
    QDir(m_dir.path()).mkpath(QStringLiteral("model"));
    QFile f(m_dir.filePath(QStringLiteral("data.csv")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("text,label\na,b\n");
  }

  void defaultsAreInTheUsualRanges()
  {
    const ConfigResult r = parseExperimentConfig(valid(), m_dir.path().toStdString());
    QVERIFY2(r.ok(), qPrintable(joined(r)));
    const ExperimentConfig &c = r.config;
    QVERIFY(c.training.learningRate >= 1e-5 && c.training.learningRate <= 5e-5);
    QVERIFY(c.training.batchSize >= 8 && c.training.batchSize <= 32);
    QVERIFY(c.training.epochs >= 3 && c.training.epochs <= 10);
    QCOMPARE(c.training.weightDecay, 0.01);
    QCOMPARE(c.task.headDropout, 0.1);
    QCOMPARE(c.seed, std::uint64_t(42));
    QCOMPARE(QString::fromStdString(c.resolve(c.model.path).string()), m_dir.filePath(QStringLiteral("model")));
  }

  void everyProblemAtOnce()
  {
    const std::string yaml = valid() + "training:\n  learning_rat: 1e-4\n  batch_size: 0\n  epochs: many\n"
                                       "  optimizer: {name: adamm}\nstrategy:\n  name: lora\n  lora: {r: 8, alpah: 16}\n";
    const ConfigResult r = parseExperimentConfig(yaml, m_dir.path().toStdString());
    const QString all = joined(r);
    QCOMPARE(static_cast<int>(r.problems.size()), 5);
    QVERIFY2(all.contains(QLatin1String("c.yaml:7:3: training.learning_rat: unknown key (did you mean \"learning_rate\"?)")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("c.yaml:8:15: training.batch_size: must be between 1 and 4096 (got 0)")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("c.yaml:9:11: training.epochs: expected a whole number")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("training.optimizer.name: \"adamm\" is not one of adamw, adam, sgd (did you mean \"adamw\"?)")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("strategy.lora.alpah: unknown key (did you mean \"alpha\"?)")), qPrintable(all));
  }

  // Every field is described (kind, range or choices, help) for the form's tooltips, and the
  // described range is the one the parser enforces: just inside passes, just outside fails.
  void fieldsAreDescribed()
  {
    QVERIFY(configFields().size() >= 90);
    for (const ConfigFieldInfo &f : configFields()) {
      QVERIFY2(!f.help.empty(), f.path.c_str());
      if (f.kind != "integer" && f.kind != "number")
        continue;
      QVERIFY2(f.lo <= f.hi, f.path.c_str());
      if (f.path == "seed")
        continue;
      const double step = f.kind == "integer" ? 1.0 : std::max(1e-12, std::abs(f.hi) * 1e-3);
      auto check = [&](double v, bool ok) {
        const std::string value = f.kind == "integer" ? std::to_string(static_cast<long long>(v))
                                                       : QString::number(v, 'g', 17).toStdString();
        const ConfigResult r = parseExperimentConfig(withOverride(valid(), f.path, value), m_dir.path().toStdString());
        bool fieldOk = true;
        for (const ConfigProblem &p : r.problems)
          if (p.field == f.path && p.message.find("between") != std::string::npos)
            fieldOk = false;
        QVERIFY2(fieldOk == ok, (f.path + "=" + value).c_str());
      };
      check(f.hi + step, false);
      if (f.lo - step >= -1e9)
        check(f.lo - (f.kind == "integer" ? 1.0 : f.lo > 0 ? f.lo * 0.5 : step), false);
      check(f.hi, true);
    }
    QCOMPARE(configField("training.batch_size")->range(), std::string("1 – 4096"));
    QCOMPARE(configField("training.optimizer.name")->range(), std::string("adamw, adam, sgd"));
    QVERIFY(configField("no.such.field") == nullptr);
  }

  void crossFieldChecks()
  {
    const std::string yaml = "model: {path: nowhere}\ndata:\n  path: data.csv\n  split: {train: 0.7, validation: 0.1, test: 0.1}\n";
    const ConfigResult r = parseExperimentConfig(yaml, m_dir.path().toStdString());
    const QString all = joined(r);
    QVERIFY2(all.contains(QLatin1String("model.path: no such folder")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("c.yaml:4:18: data.split.train: train + validation + test must add up to 1 (they add up to 0.9)")), qPrintable(all));
    const ConfigResult missing = parseExperimentConfig("seed: 1\n", m_dir.path().toStdString());
    QVERIFY(joined(missing).contains(QLatin1String("model.path: is required")));
    QVERIFY(joined(missing).contains(QLatin1String("data.path: is required")));
  }

  void syntaxErrorsHaveALine()
  {
    const ConfigResult r = parseExperimentConfig("model:\n  path: [unclosed\n", m_dir.path().toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(r.problems.front().line >= 2, qPrintable(joined(r)));
    QCOMPARE(QString::fromStdString(r.problems.front().field), QStringLiteral("(syntax)"));
  }

  void overrides()
  {
    ConfigResult r = parseExperimentConfig(valid(), m_dir.path().toStdString(),
                                           {"training.learning_rate=1e-4", "strategy.name=lora", "training.epochs=7"});
    QVERIFY2(r.ok(), qPrintable(joined(r)));
    QCOMPARE(r.config.training.learningRate, 1e-4);
    QCOMPARE(QString::fromStdString(r.config.strategy.name), QStringLiteral("lora"));
    QCOMPARE(r.config.training.epochs, 7);
    r = parseExperimentConfig(valid(), m_dir.path().toStdString(), {"training.learnin_rate=1"});
    QVERIFY(joined(r).contains(QLatin1String("did you mean \"training.learning_rate\"")));
  }

  // training.activation_checkpointing: every k-th layer, or true (every layer) / false (none).
  void activationCheckpointing()
  {
    const std::string dir = m_dir.path().toStdString();
    QCOMPARE(parseExperimentConfig(valid(), dir).config.training.activationCheckpointing, 0);
    for (const auto &[value, every] :
         std::vector<std::pair<std::string, int>>{{"true", 1}, {"false", 0}, {"2", 2}, {"0", 0}}) {
      const ConfigResult r =
          parseExperimentConfig(valid(), dir, {"training.activation_checkpointing=" + value});
      QVERIFY2(r.ok(), qPrintable(joined(r)));
      QCOMPARE(r.config.training.activationCheckpointing, every);
    }
    const ConfigResult bad = parseExperimentConfig(valid(), dir, {"training.activation_checkpointing=often"});
    QVERIFY2(joined(bad).contains(QLatin1String(
                 "training.activation_checkpointing: expected a whole number (or true / false)")),
             qPrintable(joined(bad)));
    // Written back as the number.
    ConfigResult r = parseExperimentConfig(valid(), dir, {"training.activation_checkpointing=true"});
    QCOMPARE(parseExperimentConfig(r.config.toYaml(), dir).config.training.activationCheckpointing, 1);
  }

  void resolvedYamlReadsBack()
  {
    ConfigResult r = parseExperimentConfig(valid(), m_dir.path().toStdString(),
                                           {"strategy.lora.targets=[query, value, dense]", "strategy.freeze_layers=[0, 1]",
                                            "data.columns={text: review, label: stars}", "seed=7"});
    QVERIFY2(r.ok(), qPrintable(joined(r)));
    const std::string yaml = r.config.toYaml();
    const ConfigResult back = parseExperimentConfig(yaml, m_dir.path().toStdString());
    QVERIFY2(back.ok(), qPrintable(joined(back) + "\n" + QString::fromStdString(yaml)));
    QCOMPARE(back.config.toYaml(), yaml);
    QCOMPARE(back.config.strategy.loraTargets, (std::vector<std::string>{"query", "value", "dense"}));
    QCOMPARE(back.config.strategy.freezeLayers, (std::vector<int>{0, 1}));
    QCOMPARE(back.config.data.columns.at("label"), std::string("stars"));
    QCOMPARE(back.config.seed, std::uint64_t(7));
  }

  void selectionMetric()
  {
    ConfigResult r = parseExperimentConfig(valid(), m_dir.path().toStdString());
    QCOMPARE(QString::fromStdString(r.config.selectionMetric()), QStringLiteral("macro_f1"));
    QVERIFY(r.config.higherIsBetter());
    r = parseExperimentConfig(valid(), m_dir.path().toStdString(), {"evaluation.metric=loss"});
    QVERIFY(!r.config.higherIsBetter());
    r = parseExperimentConfig(valid(), m_dir.path().toStdString(), {"task.kind=token_tagging"});
    QCOMPARE(QString::fromStdString(r.config.selectionMetric()), QStringLiteral("entity_f1"));
  }

  // multitask.tasks: a list read with its own checks (line:column of the list, the task's number),
  // written back by toYaml; the selection metric becomes multitask_score.
  void multiTask()
  {
    const std::string tasks = valid() + "multitask:\n  sampling: round_robin\n  tasks:\n"
                                        "    - {name: pos, kind: token_tagging, path: data.csv, tag_scheme: plain}\n"
                                        "    - {name: spam, path: data.csv, weight: 0.5, columns: {text: body}}\n";
    ConfigResult r = parseExperimentConfig(tasks, m_dir.path().toStdString());
    QVERIFY2(r.ok(), qPrintable(joined(r)));
    QCOMPARE(r.config.multitask.tasks.size(), std::size_t(2));
    QCOMPARE(r.config.multitask.tasks[1].weight, 0.5);
    QCOMPARE(r.config.multitask.tasks[1].columns.at("text"), std::string("body"));
    QCOMPARE(QString::fromStdString(r.config.selectionMetric()), QStringLiteral("multitask_score"));
    const ExperimentConfig pos = r.config.auxiliaryConfig(r.config.multitask.tasks[0]);
    QCOMPARE(QString::fromStdString(pos.task.kind), QStringLiteral("token_tagging"));
    QVERIFY(!pos.isMultiTask());
    const ConfigResult back = parseExperimentConfig(r.config.toYaml(), m_dir.path().toStdString());
    QVERIFY2(back.ok(), qPrintable(joined(back)));
    QCOMPARE(back.config.toYaml(), r.config.toYaml());

    const std::string bad = valid() + "multitask:\n  tasks:\n    - {name: pos, path: data.csv, wieght: 2}\n";
    r = parseExperimentConfig(bad, m_dir.path().toStdString());
    QVERIFY2(joined(r).contains(QLatin1String("c.yaml:8:5: multitask.tasks: task 1: unknown key \"wieght\" (did you mean \"weight\"?)")),
             qPrintable(joined(r)));
    r = parseExperimentConfig(valid() + "multitask:\n  tasks:\n    - {name: a, path: x}\n    - {name: a, path: y}\n",
                              m_dir.path().toStdString());
    QVERIFY2(joined(r).contains(QLatin1String("task 2: the name \"a\" is used twice")), qPrintable(joined(r)));
    r = parseExperimentConfig(valid() + "task: {kind: causal_lm}\nmultitask:\n  tasks:\n    - {name: a, path: x}\n",
                              m_dir.path().toStdString());
    QVERIFY2(joined(r).contains(QLatin1String("multi-task learning shares an encoder")), qPrintable(joined(r)));
  }

  // Every preset and every File → Examples experiment parses (only missing paths may be reported).
  void presetsParse()
  {
    const QString resources = QStringLiteral(TUNEBENCH_SOURCE_DIR "/resources");
    QStringList files;
    for (const QString &f : QDir(resources + "/presets").entryList({QStringLiteral("*.yaml")}))
      files << QStringLiteral("presets/") + f;
    for (const QString &example : QDir(resources + "/examples").entryList(QDir::Dirs | QDir::NoDotAndDotDot))
      for (const QString &f : QDir(resources + "/examples/" + example).entryList({QStringLiteral("*.yaml")}))
        files << QStringLiteral("examples/%1/%2").arg(example, f);
    QVERIFY(files.size() >= 10);
    for (const QString &f : files) {
      const ConfigResult r = loadExperimentConfig((resources + "/" + f).toStdString());
      // Paths may not exist on this machine (assets not fetched); everything else must hold.
      for (const ConfigProblem &p : r.problems)
        QVERIFY2(p.message.find("no such") != std::string::npos, qPrintable(f + ": " + QString::fromStdString(p.str(f.toStdString()))));
    }
  }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
