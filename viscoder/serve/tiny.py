"""A tiny random chat model for tests and the CPU demo, built here with no download.

A 2-layer Qwen2 (head size 32, which vLLM's CPU attention needs) with random weights, a
byte-level BPE tokenizer trained on the spot on text shipped with viscoder (prompt templates
and example scripts), and the Qwen2.5 chat template. It loads in transformers and vLLM like any
Hugging Face model folder; what it writes is noise.

    viscoder serve tiny-model runs/tiny-model
"""

from __future__ import annotations

from pathlib import Path


def qwen2_5_chat_template() -> str:
    """Qwen2.5's own chat template (TRL ships a verbatim copy), so the tiny model goes
    through exactly the template handling the real Qwen2.5-Coder models get."""
    from trl.chat_template_utils import qwen2_5_chat_template as template

    return template


SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _corpus() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    texts = [p.read_text() for p in sorted((root / "prompts" / "templates").glob("*.txt"))]
    texts += [p.read_text() for p in sorted((root / "examples" / "scripts").glob("*.py"))]
    texts.append(qwen2_5_chat_template())
    texts.append("".join(chr(c) for c in range(32, 127)))
    return texts


def build_tiny_model(out_dir: str | Path, *, vocab_size: int = 1024, hidden_size: int = 64,
                     layers: int = 2, heads: int = 2, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", bos_token=None)
    tokenizer.chat_template = qwen2_5_chat_template()
    tokenizer.model_max_length = 2048
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden_size,
                         intermediate_size=hidden_size * 2, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=1,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         eos_token_id=eos, pad_token_id=pad, bos_token_id=None,
                         torch_dtype="float32")
    model = Qwen2ForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(eos_token_id=eos, pad_token_id=pad, do_sample=False).save_pretrained(out)
    return out
