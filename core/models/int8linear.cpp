#include "core/models/int8linear.h"

#include "core/models/gpt2.h"
#include "core/models/linear.h"
#include "core/util/error.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>

namespace tunebench {

struct Int8Linear::Impl
{
  c10::intrusive_ptr<LinearPackedParamsBase> packed;
  std::int64_t in = 0, out = 0, bytes = 0;
};

namespace {

std::string chooseEngine()
{
  auto &context = at::globalContext();
  const auto &supported = context.supportedQEngines();
  for (const at::QEngine engine : {at::QEngine::ONEDNN, at::QEngine::QNNPACK})
    if (std::find(supported.begin(), supported.end(), engine) != supported.end()) {
      context.setQEngine(engine);
      return c10::toString(engine);
    }
  throw Error("this LibTorch has no quantized engine (oneDNN or QNNPACK): int8 inference is not available");
}

} // namespace

std::pair<torch::Tensor, torch::Tensor> quantizePerChannel(const torch::Tensor &weight)
{
  const torch::Tensor w = weight.detach().to(torch::kFloat32);
  const torch::Tensor scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12);
  const torch::Tensor values = torch::round(w / scales.unsqueeze(1)).clamp(-127, 127).to(torch::kInt8);
  return {values, scales};
}

Int8Linear::Int8Linear(const torch::Tensor &weight, const torch::Tensor &bias)
  : d(std::make_unique<Impl>())
{
  torch::NoGradGuard noGrad;
  d->out = weight.size(0);
  d->in = weight.size(1);
  const auto [values, scales] = quantizePerChannel(weight);
  const torch::Tensor q = at::_make_per_channel_quantized_tensor(values, scales.to(torch::kFloat64),
                                                                 torch::zeros({d->out}, torch::kLong), 0);
  static auto prepack =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("quantized::linear_prepack", "")
          .typed<c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>)>();
  d->packed = prepack.call(q, bias.defined()
                                  ? c10::optional<at::Tensor>(bias.detach().to(torch::kFloat32).contiguous())
                                  : c10::nullopt);
  d->bytes = values.numel() + scales.numel() * 4 + (bias.defined() ? bias.numel() * 4 : 0);
}

Int8Linear::~Int8Linear() = default;

torch::Tensor Int8Linear::forward(const torch::Tensor &x) const
{
  auto shape = x.sizes().vec();
  shape.back() = d->out;
  const torch::Tensor flat = x.reshape({-1, d->in}).to(torch::kFloat32).contiguous();
  return d->packed->apply_dynamic(flat, /*reduce_range=*/false).view(shape);
}

std::int64_t Int8Linear::bytes() const
{
  return d->bytes;
}

Int8Report quantizeLinearMaps(torch::nn::Module &model)
{
  Int8Report report;
  report.engine = chooseEngine();
  for (const auto &m : model.modules(/*include_self=*/true)) {
    if (auto *l = dynamic_cast<LinearImpl *>(m.get())) {
      l->int8 = std::make_shared<Int8Linear>(l->weight, l->bias);
      report.fp32Bytes += l->weight.numel() * 4 + (l->bias.defined() ? l->bias.numel() * 4 : 0);
      report.int8Bytes += l->int8->bytes();
      ++report.maps;
    } else if (auto *c = dynamic_cast<Conv1DImpl *>(m.get())) { // GPT-2: [in, out]
      c->int8 = std::make_shared<Int8Linear>(c->weight.t(), c->bias);
      report.fp32Bytes += c->weight.numel() * 4 + c->bias.numel() * 4;
      report.int8Bytes += c->int8->bytes();
      ++report.maps;
    }
  }
  return report;
}

} // namespace tunebench
