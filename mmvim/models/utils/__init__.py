from .cuda_graph import CUDAGraphRunner, GraphedTraining, graph_signature

__all__ = ['CUDAGraphRunner', 'GraphedTraining', 'graph_signature']
