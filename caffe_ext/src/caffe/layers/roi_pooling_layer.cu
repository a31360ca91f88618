#include <cfloat>
#include <vector>

#include "caffe/layers/roi_pooling_layer.hpp"
#include "caffe/util/gpu_util.cuh"

namespace caffe {

// One thread per output element (roi, channel, ph, pw).
template <typename Dtype>
__global__ void ROIPoolForward(const int nthreads, const Dtype* data,
    const Dtype spatial_scale, const int channels, const int height,
    const int width, const int pooled_h, const int pooled_w,
    const Dtype* rois, Dtype* out, int* argmax) {
  CUDA_KERNEL_LOOP(index, nthreads) {
    const int pw = index % pooled_w;
    const int ph = (index / pooled_w) % pooled_h;
    const int c = (index / pooled_w / pooled_h) % channels;
    const int n = index / pooled_w / pooled_h / channels;
    const Dtype* roi = rois + n * 5;
    const int b = static_cast<int>(roi[0]);
    const int x_start = static_cast<int>(round(roi[1] * spatial_scale));
    const int y_start = static_cast<int>(round(roi[2] * spatial_scale));
    const int x_end = static_cast<int>(round(roi[3] * spatial_scale));
    const int y_end = static_cast<int>(round(roi[4] * spatial_scale));
    const int roi_h = max(y_end - y_start + 1, 1);
    const int roi_w = max(x_end - x_start + 1, 1);
    const Dtype bin_h = static_cast<Dtype>(roi_h) / pooled_h;
    const Dtype bin_w = static_cast<Dtype>(roi_w) / pooled_w;
    int hstart = static_cast<int>(floor(ph * bin_h)) + y_start;
    int hend = static_cast<int>(ceil((ph + 1) * bin_h)) + y_start;
    int wstart = static_cast<int>(floor(pw * bin_w)) + x_start;
    int wend = static_cast<int>(ceil((pw + 1) * bin_w)) + x_start;
    hstart = min(max(hstart, 0), height);
    hend = min(max(hend, 0), height);
    wstart = min(max(wstart, 0), width);
    wend = min(max(wend, 0), width);
    if (hend <= hstart || wend <= wstart) {
      out[index] = 0;
      argmax[index] = -1;
      continue;
    }
    const Dtype* plane = data + (b * channels + c) * height * width;
    Dtype best = -FLT_MAX;
    int best_idx = -1;
    for (int h = hstart; h < hend; ++h) {
      for (int w = wstart; w < wend; ++w) {
        const int i = h * width + w;
        if (plane[i] > best) {
          best = plane[i];
          best_idx = i;
        }
      }
    }
    out[index] = best;
    argmax[index] = best_idx;
  }
}

// One thread per output element; overlapping regions add atomically.
template <typename Dtype>
__global__ void ROIPoolBackward(const int nthreads, const Dtype* top_diff,
    const int* argmax, const Dtype* rois, const int channels,
    const int height, const int width, const int pooled_h, const int pooled_w,
    Dtype* bottom_diff) {
  CUDA_KERNEL_LOOP(index, nthreads) {
    const int idx = argmax[index];
    if (idx < 0) {
      continue;
    }
    const int c = (index / pooled_w / pooled_h) % channels;
    const int n = index / pooled_w / pooled_h / channels;
    const int b = static_cast<int>(rois[n * 5]);
    caffe_gpu_atomic_add(top_diff[index],
        bottom_diff + (b * channels + c) * height * width + idx);
  }
}

template <typename Dtype>
void ROIPoolingLayer<Dtype>::Forward_gpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const int count = top[0]->count();
  if (count == 0) {
    return;
  }
  // NOLINT_NEXT_LINE(whitespace/operators)
  ROIPoolForward<Dtype><<<CAFFE_GET_BLOCKS(count), CAFFE_CUDA_NUM_THREADS>>>(
      count, bottom[0]->gpu_data(), spatial_scale_, channels_, height_,
      width_, pooled_h_, pooled_w_, bottom[1]->gpu_data(),
      top[0]->mutable_gpu_data(), argmax_.mutable_gpu_data());
  CUDA_POST_KERNEL_CHECK;
}

template <typename Dtype>
void ROIPoolingLayer<Dtype>::Backward_gpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {
  if (propagate_down[1]) {
    LOG(FATAL) << this->type() << " cannot backpropagate to the rois.";
  }
  if (!propagate_down[0]) {
    return;
  }
  caffe_gpu_set(bottom[0]->count(), Dtype(0), bottom[0]->mutable_gpu_diff());
  const int count = top[0]->count();
  if (count == 0) {
    return;
  }
  // NOLINT_NEXT_LINE(whitespace/operators)
  ROIPoolBackward<Dtype><<<CAFFE_GET_BLOCKS(count), CAFFE_CUDA_NUM_THREADS>>>(
      count, top[0]->gpu_diff(), argmax_.gpu_data(), bottom[1]->gpu_data(),
      channels_, height_, width_, pooled_h_, pooled_w_,
      bottom[0]->mutable_gpu_diff());
  CUDA_POST_KERNEL_CHECK;
}

INSTANTIATE_LAYER_GPU_FUNCS(ROIPoolingLayer);

}  // namespace caffe
