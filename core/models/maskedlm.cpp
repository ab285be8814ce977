#include "core/models/maskedlm.h"

#include "core/models/moduletree.h"
#include "core/runtime/generator.h"

#include <torch/torch.h>

namespace tunebench {

MaskedLanguageModelImpl::MaskedLanguageModelImpl(const EncoderConfig &c) : m_config(c)
{
  encoder = register_module(c.modelType, TransformerEncoder(c, /*withPooler=*/false));
  const auto norm = torch::nn::LayerNormOptions({c.hiddenSize}).eps(c.layerNormEps);
  if (c.modelType == "roberta") {
    m_dense = registerAt(*this, "lm_head.dense", Linear(c.hiddenSize, c.hiddenSize));
    m_norm = registerAt(*this, "lm_head.layer_norm", torch::nn::LayerNorm(norm));
    m_bias = moduleAt(*this, "lm_head")->register_parameter("bias", torch::zeros({c.vocabSize}));
  } else if (c.modelType == "distilbert") {
    m_dense = register_module("vocab_transform", Linear(c.hiddenSize, c.hiddenSize));
    m_norm = register_module("vocab_layer_norm", torch::nn::LayerNorm(norm));
    m_bias = moduleAt(*this, "vocab_projector")->register_parameter("bias", torch::zeros({c.vocabSize}));
  } else {
    m_dense = registerAt(*this, "cls.predictions.transform.dense", Linear(c.hiddenSize, c.hiddenSize));
    m_norm = registerAt(*this, "cls.predictions.transform.LayerNorm", torch::nn::LayerNorm(norm));
    m_bias = moduleAt(*this, "cls.predictions")->register_parameter("bias", torch::zeros({c.vocabSize}));
  }
}

torch::Tensor MaskedLanguageModelImpl::forward(const torch::Tensor &ids, const torch::Tensor &mask,
                                               const torch::Tensor &typeIds, const torch::Tensor &positions)
{
  torch::Tensor h = encoder(ids, mask, typeIds).lastHidden;
  if (const std::int64_t p = encoder->embeddings->promptLength())
    h = h.narrow(1, p, ids.size(1));
  if (positions.defined())
    h = h.index({positions}); // [selected, hidden]
  // RoBERTa's head always uses erf GELU; BERT's and DistilBERT's follow the config.
  const std::string a = m_config.modelType == "roberta" ? std::string("gelu") : m_config.activation;
  torch::Tensor x = m_dense(h);
  x = a == "relu" ? torch::relu(x) : (a == "gelu_new" || a == "gelu_pytorch_tanh") ? torch::gelu(x, "tanh") : torch::gelu(x);
  x = m_norm(x.to(m_norm->weight.scalar_type())); // LayerNorm in the weights' precision (bf16 autocast)
  return torch::matmul(x, encoder->embeddings->words->weight.t().to(x.scalar_type())) + m_bias.to(x.scalar_type());
}

void MaskedLanguageModelImpl::initialiseWeights()
{
  torch::NoGradGuard noGrad;
  for (auto &p : named_parameters()) {
    const std::string &name = p.key();
    if (name.find("LayerNorm.weight") != std::string::npos || name.find("layer_norm.weight") != std::string::npos ||
        name.find("norm.weight") != std::string::npos)
      p.value().fill_(1.0);
    else if (p.value().dim() == 1)
      p.value().zero_();
    else
      p.value().normal_(0.0, 0.02, currentGenerator());
  }
}

} // namespace tunebench
