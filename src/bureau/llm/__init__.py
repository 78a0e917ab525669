"""Model access for agents (`ctx.llm`): providers, durable calls, routing by profile."""
