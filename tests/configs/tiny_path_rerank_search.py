# The tiny single-path search with a rerank stage: of 3 candidates, the 2
# best scored by the supernet train for one epoch (tiny_screen.py), one
# after the other, and the better one is kept.
_base_ = ['./tiny_path_search.py']

train_cfg = dict(
    rerank=dict(config='{{fileDirname}}/tiny_screen.py', top=2, jobs=1))
