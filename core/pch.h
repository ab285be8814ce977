// Precompiled header of tunebench_core: LibTorch's headers take ~15 s per translation unit
// otherwise. Only stable third-party and standard headers belong here.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
