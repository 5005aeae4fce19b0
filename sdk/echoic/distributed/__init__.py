"""Beyond one machine, on a Ray cluster (``pip install "echoic[ray]"``):

- :func:`transcribe_files`: a Ray Data pipeline from audio files to JSON Lines, one
  Recognizer per actor, every file exactly once in the output, reruns resume
  (``echoic transcribe --ray [ADDRESS] --output-dir DIR FILES...``);
- :class:`ShardedIndex`: an embedding index over N shard actors, each owning one echoic
  index file, searched by fan-out and merge.

Ray is imported when one of them runs, never by ``import echoic`` or this package.
"""
from .index import ShardedIndex, merge_topk, shard_of
from .transcribe import TranscribeReport, expand_files, transcribe_files, transcribe_one

__all__ = ["ShardedIndex", "TranscribeReport", "expand_files", "merge_topk", "shard_of", "transcribe_files",
           "transcribe_one"]
