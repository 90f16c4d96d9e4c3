"""Fine-tuning: the base model, the LoRA trainer (lora_job) and where it runs (this process or a Databricks job)."""
