// Finds out which BLAS LibTorch actually calls: Debian's libblas.so.3 is an alternatives symlink
// that may point at the reference BLAS (slow) or OpenBLAS, so the file name alone says nothing.
#include "core/runtime/runtime.h"

#include <dlfcn.h>
#include <link.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

namespace {

int collectObject(dl_phdr_info *info, size_t, void *data)
{
  auto *names = static_cast<std::vector<std::string> *>(data);
  if (info->dlpi_name && *info->dlpi_name)
    names->emplace_back(info->dlpi_name);
  return 0;
}

std::string resolved(const std::string &path)
{
  std::error_code ec;
  const auto canonical = std::filesystem::canonical(path, ec);
  return ec ? path : canonical.string();
}

} // namespace

BlasInfo detectBlas()
{
  BlasInfo blas;
  std::vector<std::string> objects;
  dl_iterate_phdr(collectObject, &objects);

  // Which object provides sgemm_ decides; it is what LibTorch's calls bind to.
  if (void *sgemm = dlsym(RTLD_DEFAULT, "sgemm_")) {
    Dl_info where{};
    if (dladdr(sgemm, &where) && where.dli_fname)
      blas.path = resolved(where.dli_fname);
  }

  using GetConfig = char *(*)();
  using GetInt = int (*)();
  if (auto config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    blas.name = "OpenBLAS";
    blas.details = config();
    if (auto core = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) {
      blas.core = core();
      blas.details += ", core " + blas.core;
    }
    if (auto threads = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
      blas.threads = threads();
    // The OpenBLAS symbols may come from a libopenblas loaded beside a reference libblas; sgemm_'s
    // owner is the truth.
    if (blas.path.find("/blas/") != std::string::npos) {
      blas.name = "reference BLAS";
      blas.slow = true;
    }
    return blas;
  }
  for (const std::string &object : objects) {
    if (object.find("mkl_rt") != std::string::npos || object.find("libmkl") != std::string::npos) {
      blas.name = "MKL";
      return blas;
    }
    if (object.find("libblis") != std::string::npos) {
      blas.name = "BLIS";
      return blas;
    }
  }
  if (blas.path.find("/blas/libblas") != std::string::npos) {
    blas.name = "reference BLAS";
    blas.slow = true;
  } else {
    blas.name = blas.path.empty() ? "none loaded" : "unknown";
  }
  return blas;
}

} // namespace tunebench
