"""An example CRM Engine plugin: scores service requests by urgency."""
