// What each experiment field means: the tooltips of the GUI's experiment form and the CLI's
// `config --explain`. Ranges and choices come from the schema itself.
#include "core/config/schema.h"

#include <map>

namespace tunebench {

namespace config_schema {

std::string fieldHelp(const std::string &path)
{
  static const std::map<std::string, std::string> help = {
      {"name", "A short name for the runs of this experiment (shown in the history)."},
      {"seed",
       "Seed for the splits, shuffling, dropout and initialisation: the same seed gives the same run."},
      {"model.path", "The model folder: a Hugging Face folder (config.json, weights, tokenizer files) or the "
                     "USE-Lite TF.js folder. $ASSETS/ and $WORKSPACE/ may start the path."},
      {"model.init", "pretrained: load the folder's weights; random: train from scratch with its tokenizer."},
      {"model.max_length",
       "Tokens per example; longer ones are cut (the Data tab's length chart shows how many)."},
      {"model.scratch.layers", "Layers of a model made from scratch."},
      {"model.scratch.hidden", "Hidden size of a model made from scratch (a multiple of its heads)."},
      {"model.scratch.heads", "Attention heads of a model made from scratch."},
      {"task.kind",
       "What the model learns: one label per text, several labels, a tag per token, language "
       "modelling, instruction following, text-to-text (seq2seq, on T5), or a denoising pre-training "
       "objective."},
      {"task.noise_density",
       "masked_lm: share of tokens masked (BERT: 0.15); span_corruption: share of tokens in noise spans."},
      {"task.mean_span", "span_corruption: mean length of a noise span (T5: 3)."},
      {"task.template",
       "instruction, seq2seq: how instruction, input and answer are laid out (alpaca, chat, or "
       "plain: the instruction, then the input on a new line)."},
      {"task.pooling",
       "How a sentence vector is taken from the encoder: the model's own (pooler / first token), "
       "the first token, or the mean of all tokens."},
      {"task.head_dropout", "Dropout before the classification head."},
      {"data.path", "The data file: CSV, TSV, JSON Lines, JSON, CoNLL or plain text."},
      {"data.columns", "Which column holds what: text, text_pair, label, tokens, tags, split."},
      {"data.tag_scheme", "Token tagging: bio (iob2), iob1, iobes or plain tags; empty detects it."},
      {"data.subset_rows", "Use only this many rows (0: all): quick experiments on a sample."},
      {"data.subset_fraction", "Use only this share of the rows."},
      {"data.split.train", "Share of rows for training (train + validation + test = 1)."},
      {"data.split.validation",
       "Share of rows for validation: early stopping and the best checkpoint use it."},
      {"data.split.test", "Share of rows held out for the final test of the best checkpoint."},
      {"data.split.stratified", "Keep each label's share the same in every split."},
      {"data.split.folds", "k-fold cross-validation: the number of folds (0: off)."},
      {"data.split.fold", "k-fold: which fold is the test split (from 0)."},
      {"data.cleaning.whitespace", "Collapse runs of spaces and trim."},
      {"data.cleaning.html", "Strip HTML tags and decode entities."},
      {"data.cleaning.lowercase", "Lower-case the text (only for uncased models)."},
      {"data.cleaning.mask_urls", "Replace URLs with a placeholder."},
      {"data.cleaning.mask_emails", "Replace e-mail addresses with a placeholder."},
      {"data.cleaning.deduplicate", "Drop rows whose text appears earlier."},
      {"data.cleaning.unicode", "Unicode normalisation form (nfc, nfkc) or none."},
      {"data.augmentation.per_row", "Augmented copies made of each training row (0: off)."},
      {"data.augmentation.synonym", "Share of words replaced by a WordNet synonym."},
      {"data.augmentation.insert", "Share of words inserted (synonyms of words in the text)."},
      {"data.augmentation.swap", "Share of word pairs swapped."},
      {"data.augmentation.delete", "Probability of deleting each word."},
      {"data.augmentation.paraphrase.model",
       "A T5 (sequence-to-sequence) model folder that paraphrases each training row (its text, or an "
       "instruction's question); empty: off."},
      {"data.augmentation.paraphrase.back_model", "Back-translation: a second T5 folder that turns the first "
                                                  "model's output back (to the pivot language and "
                                                  "back)."},
      {"data.augmentation.paraphrase.prefix",
       "Put before each input of the first model, a space between (e.g. "
       "\"translate English to German:\")."},
      {"data.augmentation.paraphrase.back_prefix", "Put before each input of the second model."},
      {"data.augmentation.paraphrase.per_row",
       "Paraphrases made of each training row (above 1 needs sampling)."},
      {"data.augmentation.paraphrase.sampling",
       "Sample the paraphrases (top-p 0.9, seeded by the run's seed) instead of greedy decoding."},
      {"strategy.name", "What is trained: everything (full), the top layers (partial), the head only (linear "
                        "probe), biases (BitFit), low-rank updates (LoRA), bottleneck adapters, IA3 scaling "
                        "vectors, prefixes of every attention layer, or a soft prompt."},
      {"strategy.freeze_embeddings", "partial: keep the embeddings frozen."},
      {"strategy.freeze_bottom_layers", "partial: freeze this many layers from the bottom."},
      {"strategy.freeze_layers", "partial: freeze these layers (indices from 0)."},
      {"strategy.layer_decay",
       "partial: each layer down gets its LR multiplied by this (1: the same LR everywhere)."},
      {"strategy.adapter",
       "A PEFT adapter folder (adapter_config.json + adapter_model.safetensors: LoRA, IA3, prefix or "
       "prompt tuning, e.g. an export --format peft) loaded onto model.path; its adapter_config.json "
       "sets the strategy and its options. Training goes on from the adapter."},
      {"strategy.cache_frozen",
       "partial, linear probe: compute the frozen embeddings and bottom layers once per "
       "example and cache their outputs (those layers then run without dropout): later "
       "epochs start at the first trainable layer."},
      {"strategy.head_lr_scale", "The head's LR as a multiple of the base LR (0: the same)."},
      {"strategy.lora.r", "LoRA rank: trainable numbers grow with r (2·r·(in+out) per target matrix)."},
      {"strategy.lora.alpha",
       "LoRA scaling: the update is multiplied by alpha / r (or alpha / √r with rsLoRA)."},
      {"strategy.lora.dropout", "Dropout on the LoRA branch's input."},
      {"strategy.lora.targets", "Which linear maps get LoRA (empty: the family's query and value maps)."},
      {"strategy.lora.rslora", "Rank-stabilised scaling alpha / √r."},
      {"strategy.lora.bias", "Which biases train with LoRA: none, all, or those of the LoRA targets."},
      {"strategy.prefix.tokens",
       "Prefix tuning: virtual key/value positions in front of every attention layer."},
      {"strategy.prefix.reparameterize",
       "Prefix tuning: produce the prefixes through a small MLP while training."},
      {"strategy.prefix.hidden", "Prefix tuning: hidden size of that MLP."},
      {"strategy.prompt.tokens", "Prompt tuning: soft-prompt vectors in front of the input."},
      {"strategy.prompt.init_text",
       "Prompt tuning: start the soft prompt from this text's embeddings (empty: random)."},
      {"strategy.adapters.kind",
       "houlsby: adapters after attention and feed-forward; pfeiffer: after feed-forward only."},
      {"strategy.adapters.reduction", "Adapters: hidden size divided by this is the bottleneck width."},
      {"strategy.adapters.activation", "Adapters: the bottleneck's non-linearity."},
      {"training.epochs", "Passes over the training split (early stopping may end sooner)."},
      {"training.batch_size", "Examples per step (per accumulation step)."},
      {"training.learning_rate", "Peak learning rate (full fine-tuning: 1e-5 – 5e-5; PEFT: 1e-4 – 1e-3)."},
      {"training.optimizer.name", "AdamW (decoupled weight decay), Adam, or SGD with momentum."},
      {"training.optimizer.beta1", "Adam(W): decay of the first-moment average."},
      {"training.optimizer.beta2", "Adam(W): decay of the second-moment average."},
      {"training.optimizer.eps", "Adam(W): added to the denominator for stability."},
      {"training.optimizer.momentum", "SGD: momentum."},
      {"training.optimizer.nesterov", "SGD: Nesterov momentum."},
      {"training.weight_decay", "Weight decay (not on biases and LayerNorm weights)."},
      {"training.scheduler.name", "How the LR moves over the run after the warm-up."},
      {"training.scheduler.warmup_steps",
       "Steps of linear warm-up from 0 (overrides the ratio when above 0)."},
      {"training.scheduler.warmup_ratio", "Warm-up as a share of all steps."},
      {"training.scheduler.cycles", "cosine_restarts: number of cycles."},
      {"training.scheduler.power", "polynomial: the decay's power."},
      {"training.scheduler.plateau_factor", "plateau: the LR is multiplied by this when validation stalls."},
      {"training.scheduler.plateau_patience",
       "plateau: evaluations without improvement before the LR drops."},
      {"training.gradient_accumulation",
       "Steps whose gradients add up before one update: effective batch = batch × this."},
      {"training.activation_checkpointing",
       "Activation checkpointing: 1 (or true) keeps only each transformer layer's input and "
       "computes the layer again in the backward pass — much less memory for about one more "
       "forward pass of time; k: every k-th layer only; 0 (or false): off."},
      {"training.max_grad_norm", "Clip the gradients' global norm to this (0: no clipping)."},
      {"training.label_smoothing", "Share of each target spread over the other classes."},
      {"training.l2_sp",
       "L2-SP: a penalty λ/2·‖θ − θ₀‖² pulling the starting model's weights back toward where "
       "they began (heads and a strategy's new weights excluded); 0: off."},
      {"forgetting.reference",
       "The forgetting meter: a general-text file on which the starting model's "
       "pre-training objective (masked-LM, LM or span-corruption loss) is measured before "
       "training, at every validation and on the best model; empty: off."},
      {"forgetting.rows",
       "Rows of the reference file read (its blocks split: most for rehearsal, the rest measured)."},
      {"forgetting.previous_run", "An earlier classification or tagging run on the same model folder: this "
                                  "run starts from its best model, "
                                  "keeps its head (frozen) and measures that task's metric on its validation "
                                  "split before training, at every "
                                  "validation and on the best model (previous_METRIC)."},
      {"forgetting.rehearsal",
       "Rehearsal: the share of steps that also train the pre-training objective on a "
       "batch of the reference text (0: off)."},
      {"training.dropout", "Dropout inside the model (-1: the model's own)."},
      {"training.precision",
       "auto: bf16 where the CPU or GPU supports it, else fp32; fp16 is not implemented in "
       "this build."},
      {"training.device",
       "Where the model, batches and optimizer state live: cpu; cuda (an error when this LibTorch has no "
       "CUDA "
       "device — Debian's has none); auto: CUDA when this LibTorch has a device, else the CPU."},
      {"training.scale_lr_with_batch", "Linear scaling rule: LR × effective batch / 32."},
      {"training.bucket_by_length", "Batch examples of similar length together (less padding, faster)."},
      {"training.max_steps", "Stop after this many steps (0: the epochs decide)."},
      {"training.threads", "CPU threads for training (0: every usable core)."},
      {"training.distributed.processes",
       "Data-parallel processes (ranks) on this machine, each with its share of the cores and of every "
       "batch: the global batch is batch_size × processes. torchrun or a scheduler sets WORLD_SIZE instead."},
      {"training.distributed.backend", "auto: NCCL with CUDA, else Gloo (this build: Gloo)."},
      {"training.distributed.timeout",
       "Seconds a rank waits for the others (rendezvous, gradient all-reduce) before the run stops, "
       "interrupted, naming the rank that stopped answering."},
      {"training.distributed.bucket_mb",
       "Gradients are all-reduced in buckets of this size, each as soon as the backward pass finishes it."},
      {"evaluation.every_steps", "Evaluate on validation every this many steps (0: at each epoch's end)."},
      {"evaluation.metric", "The metric that selects the best checkpoint and drives early stopping (rouge_l, "
                            "exact_match and bleu: generated answers, with evaluation.generate above 0)."},
      {"evaluation.mode", "Whether higher (max) or lower (min) is better for that metric."},
      {"evaluation.early_stopping.patience",
       "Evaluations without improvement before training stops (0: off)."},
      {"evaluation.early_stopping.threshold", "The smallest change that counts as an improvement."},
      {"evaluation.generate",
       "instruction, seq2seq: validation examples answered by greedy generation at each evaluation."},
      {"evaluation.max_new_tokens", "instruction, seq2seq: the longest generated answer."},
      {"multitask.sampling", "Which task each step trains: in proportion to their batches, or in turn."},
      {"multitask.tasks", "More tasks trained on the shared encoder, each with its head and data."},
      {"runtime.kernels",
       "tunebench: its own CPU kernels (hash dropout, fused optimizer step, bf16 weight copies, frozen-layer "
       "cache); aten: LibTorch's own operations (what other devices use); auto: tunebench's on the CPU."},
      {"output.runs", "Where run folders go (relative to the workspace)."},
      {"output.save_best", "Keep the best checkpoint (by the evaluation metric)."},
      {"output.save_last", "Keep the last checkpoint (for resuming)."},
  };
  const auto it = help.find(path);
  return it == help.end() ? std::string() : it->second;
}

} // namespace config_schema

std::string ConfigFieldInfo::range() const
{
  if (kind == "number" || kind == "integer")
    return config_schema::fmt(lo) + " – " + config_schema::fmt(hi);
  if (kind == "choice") {
    std::string out;
    for (const std::string &c : choices)
      out += (out.empty() ? "" : ", ") + (c.empty() ? std::string("(empty)") : c);
    return out;
  }
  if (kind == "boolean")
    return "true or false";
  if (kind == "list")
    return "a list, e.g. [0, 1]";
  return {};
}

const std::vector<ConfigFieldInfo> &configFields()
{
  static const std::vector<ConfigFieldInfo> fields = [] {
    std::vector<ConfigFieldInfo> out;
    for (const config_schema::Field &f : config_schema::schema())
      out.push_back({f.path, f.kind, f.lo, f.hi, f.choices, config_schema::fieldHelp(f.path)});
    return out;
  }();
  return fields;
}

const ConfigFieldInfo *configField(const std::string &path)
{
  for (const ConfigFieldInfo &f : configFields())
    if (f.path == path)
      return &f;
  return nullptr;
}

} // namespace tunebench
