# ADE20K as mmseg's own base (mmseg::_base_/datasets/ade20k.py), read through mmvim's checked
# dataset: a file that cannot be read, and an annotation whose size is not its image's, are named
# in an error (on_bad_sample='skip' drops them in training instead). The pipelines are mmseg's,
# with the standard loader names the inference APIs look for.
_base_ = 'mmseg::_base_/datasets/ade20k.py'
dataset_type = 'CheckedADE20KDataset'
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
