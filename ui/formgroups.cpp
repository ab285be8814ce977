#include "ui/formgroups.h"

#include <QObject>

namespace tunebench {

const std::vector<FormGroup> &formGroups(int column)
{
  static const std::vector<FormGroup> left = {
      {QObject::tr("Model"), {"model.path", "model.init", "model.max_length"}},
      {QObject::tr("Task and data"),
       {"task.kind", "data.path", "data.tag_scheme", "task.pooling", "task.head_dropout",
        "task.noise_density", "task.mean_span", "task.template", "data.subset_rows"}},
      {QObject::tr("Splits and folds"),
       {"data.split.train", "data.split.validation", "data.split.test", "data.split.stratified",
        "data.split.folds", "data.split.fold", "data.subset_fraction"}},
      {QObject::tr("Cleaning"),
       {"data.cleaning.unicode", "data.cleaning.whitespace", "data.cleaning.html", "data.cleaning.lowercase",
        "data.cleaning.mask_urls", "data.cleaning.mask_emails", "data.cleaning.deduplicate"}},
      {QObject::tr("Strategy"),
       {"strategy.name",
        "strategy.freeze_embeddings",
        "strategy.freeze_bottom_layers",
        "strategy.freeze_layers",
        "strategy.layer_decay",
        "strategy.cache_frozen",
        "strategy.lora.r",
        "strategy.lora.alpha",
        "strategy.lora.dropout",
        "strategy.lora.targets",
        "strategy.lora.rslora",
        "strategy.lora.bias",
        "strategy.adapters.kind",
        "strategy.adapters.reduction",
        "strategy.adapters.activation",
        "strategy.prefix.tokens",
        "strategy.prefix.reparameterize",
        "strategy.prefix.hidden",
        "strategy.prompt.tokens",
        "strategy.prompt.init_text",
        "strategy.head_lr_scale"}},
  };
  static const std::vector<FormGroup> right = {
      {QObject::tr("Optimizer"),
       {"training.optimizer.name", "training.learning_rate", "training.optimizer.beta1",
        "training.optimizer.beta2", "training.optimizer.eps", "training.optimizer.momentum",
        "training.optimizer.nesterov"}},
      {QObject::tr("Schedule"),
       {"training.scheduler.name", "training.scheduler.warmup_ratio", "training.scheduler.warmup_steps",
        "training.scheduler.cycles", "training.scheduler.power", "training.scheduler.plateau_factor",
        "training.scheduler.plateau_patience", "training.epochs", "training.max_steps"}},
      {QObject::tr("Batch"),
       {"training.batch_size", "training.gradient_accumulation", "training.activation_checkpointing",
        "training.bucket_by_length", "training.scale_lr_with_batch"}},
      {QObject::tr("Regularisation"),
       {"training.weight_decay", "training.dropout", "training.label_smoothing", "training.max_grad_norm"}},
      {QObject::tr("Precision and device"),
       {"training.precision", "training.device", "training.threads", "training.distributed.processes",
        "runtime.kernels"}},
      {QObject::tr("Evaluation and early stopping"),
       {"evaluation.every_steps", "evaluation.metric", "evaluation.mode",
        "evaluation.early_stopping.patience", "evaluation.early_stopping.threshold"}},
      {QObject::tr("Augmentation (training rows)"),
       {"data.augmentation.per_row", "data.augmentation.synonym", "data.augmentation.insert",
        "data.augmentation.swap", "data.augmentation.delete", "data.augmentation.paraphrase.model",
        "data.augmentation.paraphrase.prefix", "data.augmentation.paraphrase.back_model",
        "data.augmentation.paraphrase.back_prefix", "data.augmentation.paraphrase.per_row",
        "data.augmentation.paraphrase.sampling"}},
      {QObject::tr("Multi-task (auxiliary tasks trained beside the main one)"),
       {"multitask.sampling", "multitask.tasks"}},
  };
  return column == 0 ? left : right;
}

} // namespace tunebench
