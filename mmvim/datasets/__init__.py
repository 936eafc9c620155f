"""mmvim's datasets: mmseg's and mmdet's, with checked loading and annotations.

Nothing is imported here: each module needs its downstream package (mmcv, mmseg or mmdet), and
``mmvim.registration`` imports a module only where that package is installed.
"""
