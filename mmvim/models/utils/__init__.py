from .cuda_graph import CUDAGraphRunner, GraphedTraining

__all__ = ['CUDAGraphRunner', 'GraphedTraining']
