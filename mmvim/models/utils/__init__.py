from .autocast import autocast_dtype, inference_without_weight_cache
from .cuda_graph import CUDAGraphRunner, GraphedTraining

__all__ = ['CUDAGraphRunner', 'GraphedTraining', 'autocast_dtype',
           'inference_without_weight_cache']
