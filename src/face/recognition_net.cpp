// dlib's face recognition ResNet. This translation unit is the only one that instantiates
// the network type: it takes about a minute and ~1.5 GB to compile, so keep it alone.
// The architecture must match the trained model exactly; it is dlib's
// dnn_face_recognition_ex.cpp, unchanged.
#include "recognition_net.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include <dlib/dnn.h>
#include <dlib/image_transforms.h>
#include <dlib/rand.h>

namespace facegate::face {
namespace {

using namespace dlib;  // NOLINT(google-build-using-namespace): the layer names read as a network

template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual = add_prev1<block<N, BN, 1, tag1<SUBNET>>>;

template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<block<N, BN, 2, tag1<SUBNET>>>>>>;

template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, SUBNET>>>>>;

template <int N, typename SUBNET>
using ares = relu<residual<block, N, affine, SUBNET>>;
template <int N, typename SUBNET>
using ares_down = relu<residual_down<block, N, affine, SUBNET>>;

template <typename SUBNET>
using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET>
using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET>
using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET>
using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET>
using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;

using anet_type = loss_metric<fc_no_bias<
    128,
    avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<max_pool<
        3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2, input_rgb_image_sized<kChipSize>>>>>>>>>>>>>;

}  // namespace

struct RecognitionNet::Net {
  anet_type net;
};

RecognitionNet::RecognitionNet(std::unique_ptr<Net> net) : net_(std::move(net)) {}
RecognitionNet::~RecognitionNet() = default;

Result<std::unique_ptr<RecognitionNet>> RecognitionNet::load(const std::filesystem::path& model) {
  auto net = std::make_unique<Net>();
  try {
    dlib::deserialize(model.string()) >> net->net;
  } catch (const std::exception& e) {
    return fail(ErrorCode::ModelCorrupt,
                fmt::format("face recognition model {} could not be loaded ({}); delete it and "
                            "run scripts/setup.sh to fetch it again",
                            model.string(), e.what()));
  }
  return std::unique_ptr<RecognitionNet>(new RecognitionNet(std::move(net)));
}

void RecognitionNet::embed(const dlib::matrix<dlib::rgb_pixel>& chip, Embedding& out) {
  dlib::matrix<float, 0, 1> vec = net_->net(chip);
  auto values = out.values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = vec(static_cast<long>(i));
  }
  secureWipe(&vec(0), static_cast<std::size_t>(vec.size()) * sizeof(float));
}

void RecognitionNet::embedWithMirror(const dlib::matrix<dlib::rgb_pixel>& chip, Embedding& out) {
  std::vector<dlib::matrix<dlib::rgb_pixel>> batch(2);
  batch[0] = chip;
  dlib::flip_image_left_right(chip, batch[1]);
  // One forward pass over both chips (a batch of two costs less than two passes).
  std::vector<dlib::matrix<float, 0, 1>> vecs = net_->net(batch, 2);
  auto values = out.values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto row = static_cast<long>(i);
    values[i] = 0.5F * (vecs[0](row) + vecs[1](row));
  }
  for (auto& vec : vecs) {
    secureWipe(&vec(0), static_cast<std::size_t>(vec.size()) * sizeof(float));
  }
  for (auto& image : batch) {
    secureWipe(&image(0, 0), static_cast<std::size_t>(image.size()) * sizeof(dlib::rgb_pixel));
  }
}

void RecognitionNet::embedJittered(const dlib::matrix<dlib::rgb_pixel>& chip, int jitters,
                                   Embedding& out) {
  const auto count = static_cast<std::size_t>(2 + std::max(jitters, 0));
  std::vector<dlib::matrix<dlib::rgb_pixel>> batch(count);
  batch[0] = chip;
  dlib::flip_image_left_right(chip, batch[1]);
  dlib::rand random(0);  // the same jitters for every chip: the embedding depends on it alone
  for (std::size_t i = 2; i < count; ++i) {
    batch[i] = dlib::jitter_image(chip, random);
  }
  std::vector<dlib::matrix<float, 0, 1>> vecs = net_->net(batch, count);
  auto values = out.values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto row = static_cast<long>(i);
    float sum = 0.0F;
    for (const auto& vec : vecs) {
      sum += vec(row);
    }
    values[i] = sum / static_cast<float>(count);
  }
  for (auto& vec : vecs) {
    secureWipe(&vec(0), static_cast<std::size_t>(vec.size()) * sizeof(float));
  }
  for (auto& image : batch) {
    secureWipe(&image(0, 0), static_cast<std::size_t>(image.size()) * sizeof(dlib::rgb_pixel));
  }
}

}  // namespace facegate::face
