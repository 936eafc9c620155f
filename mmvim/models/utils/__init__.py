from .autocast import inference_without_weight_cache
from .cuda_graph import CUDAGraphRunner, GraphedTraining

__all__ = ['CUDAGraphRunner', 'GraphedTraining', 'inference_without_weight_cache']
