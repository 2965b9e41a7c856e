package catalog

// Rules shared by several fields.
const (
	ruleHTTPSURL    = "must be an https URL (http only on a loopback host)"
	ruleStrictHTTPS = "must be an https URL"
	ruleHTTPURL     = "must be an http or https URL"
	rulePositiveInt = "must be a positive whole number"
	ruleNonEmpty    = "must not be blank"
)

// apiKey returns the usual main field: api_key, secret and required, under
// env, with a format check.
func apiKey(env, rule string, check func([]byte) bool) Field {
	if check == nil {
		rule, check = ruleToken, tokenShape
	}
	return Field{Name: "api_key", Secret: true, Required: true, Env: env, Rule: rule, check: check}
}

// keyOnly returns a type whose only field is api_key.
func keyOnly(name, desc, env, rule string, check func([]byte) bool, on *onlineCheck) *Type {
	return &Type{Name: name, Description: desc, Main: "api_key",
		Fields: []Field{apiKey(env, rule, check)}, online: on}
}

// builtinTypes returns fresh copies of the built-in types, unsorted.
func builtinTypes() []*Type {
	types := []*Type{
		{
			Name: "openai", Description: "OpenAI API key", Main: "api_key",
			Fields: []Field{
				apiKey("OPENAI_API_KEY", `must start with "sk-" and be at least 40 characters`,
					prefixed("sk-", 40)),
				{Name: "organization_id", Env: "OPENAI_ORGANIZATION_ID",
					Rule: `must be "org-" followed by 24 letters or digits`, check: openaiOrg},
			},
			online: openaiCheck(),
		},
		{
			Name: "anthropic", Description: "Anthropic API key", Main: "api_key",
			Fields: []Field{
				apiKey("ANTHROPIC_API_KEY", `must start with "sk-ant-"`, prefixed("sk-ant-", 0)),
				{Name: "version", Env: "VERSION", Default: "2023-06-01", GenericEnv: true,
					Rule: "must be a date such as 2023-06-01", check: apiVersion},
			},
			online: anthropicCheck(),
		},
		{
			Name: "aws", Description: "AWS access key", Main: "secret_access_key",
			Fields: []Field{
				{Name: "access_key_id", Secret: true, Required: true, Env: "AWS_ACCESS_KEY_ID",
					Rule:  `must be "AKIA" or "ASIA" followed by 16 capital letters or digits`,
					check: awsKeyID},
				{Name: "secret_access_key", Secret: true, Required: true,
					Env: "AWS_SECRET_ACCESS_KEY", Rule: "must be 40 characters without whitespace",
					check: awsSecret},
				{Name: "region", Env: "AWS_REGION", Default: "us-east-1",
					Rule: "must be a region name such as us-east-1", check: awsRegion},
				{Name: "session_token", Secret: true, Env: "AWS_SESSION_TOKEN",
					Rule: ruleToken, check: tokenShape},
			},
			online: awsCheck(),
		},
		{
			Name: "google-cloud", Description: "Google Cloud service account",
			Main: "service_account_key",
			Fields: []Field{
				{Name: "project_id", Required: true, Env: "PROJECT_ID", GenericEnv: true,
					Rule: ruleNonEmpty, check: nonEmpty},
				{Name: "service_account_key", Secret: true, Required: true,
					Env: "SERVICE_ACCOUNT_KEY",
					Rule: "must be a service account key in JSON (type service_account, " +
						"project_id, private_key_id, private_key, client_email, client_id, " +
						"token_uri)",
					check: serviceAccountJSON},
			},
			online: unsupported("needs an OAuth token exchange signed with the account's " +
				"private key, which credd does not implement"),
		},
		keyOnly("gemini", "Google Gemini API key", "GEMINI_API_KEY",
			`must be "AIza" followed by 35 letters, digits, '_' or '-'`, googleAPIKey,
			geminiCheck()),
		keyOnly("groq", "Groq API key", "GROQ_API_KEY", `must start with "gsk_"`,
			prefixed("gsk_", 0), bearer("https://api.groq.com", "/openai/v1/models")),
		// Together keys have changed shape over time (64 hex digits, then
		// "tgp_v1_..."), so only the generic token shape is checked.
		keyOnly("together", "Together AI API key", "TOGETHER_API_KEY", "", nil,
			bearer("https://api.together.xyz", "/v1/models")),
		// Fireworks keys are not reliably prefixed, so only the shape is
		// checked.
		keyOnly("fireworks", "Fireworks AI API key", "FIREWORKS_API_KEY", "", nil,
			bearer("https://api.fireworks.ai", "/inference/v1/models")),
		keyOnly("cerebras", "Cerebras API key", "CEREBRAS_API_KEY", `must start with "csk-"`,
			prefixed("csk-", 0), bearer("https://api.cerebras.ai", "/v1/models")),
		keyOnly("perplexity", "Perplexity API key", "PERPLEXITY_API_KEY",
			`must start with "pplx-"`, prefixed("pplx-", 0),
			unsupported("Perplexity offers no free authenticated endpoint; "+
				"a check would spend tokens")),
		keyOnly("exa", "Exa search API key", "EXA_API_KEY", "", nil,
			unsupported("Exa offers no free authenticated endpoint; a search would be billed")),
		{
			Name: "sambanova", Description: "SambaNova Cloud API key", Main: "api_key",
			Fields: []Field{
				apiKey("SAMBANOVA_API_KEY", "", nil),
				{Name: "endpoint_url", Env: "SAMBANOVA_ENDPOINT_URL",
					Default: "https://api.sambanova.ai/v1", Rule: ruleHTTPSURL, check: httpsURL},
			},
			online: bearer("https://api.sambanova.ai", "/v1/models"),
		},
		{
			Name: "ollama", Description: "Ollama server address", Main: "host",
			Fields: []Field{
				{Name: "host", Env: "HOST", Default: "http://localhost:11434", GenericEnv: true,
					Rule: ruleHTTPURL, check: anyHTTPURL},
				{Name: "timeout", Env: "TIMEOUT", Default: "30", GenericEnv: true,
					Rule: rulePositiveInt, check: positiveInt},
			},
			online: ollamaCheck(),
		},
		{
			Name: "lancedb", Description: "LanceDB database location", Main: "database_uri",
			Fields: []Field{
				{Name: "database_uri", Required: true, Env: "DATABASE_URI", GenericEnv: true,
					Rule: ruleNonEmpty, check: nonEmpty},
			},
		},
		{
			Name: Generic, Description: "any secret, exported under the credential's name",
			Main: GenericValue, AnyFields: true,
			Fields: []Field{
				{Name: GenericValue, Secret: true},
			},
		},
		keyOnly("mistral", "Mistral AI API key", "MISTRAL_API_KEY", "", nil,
			bearer("https://api.mistral.ai", "/v1/models")),
		keyOnly("deepseek", "DeepSeek API key", "DEEPSEEK_API_KEY", `must start with "sk-"`,
			prefixed("sk-", 0), bearer("https://api.deepseek.com", "/models")),
		keyOnly("xai", "xAI API key", "XAI_API_KEY", `must start with "xai-"`,
			prefixed("xai-", 0), bearer("https://api.x.ai", "/v1/models")),
		keyOnly("cohere", "Cohere API key", "COHERE_API_KEY", "", nil,
			bearer("https://api.cohere.com", "/v1/models")),
		{
			Name: "huggingface", Description: "Hugging Face access token", Main: "api_key",
			Fields: []Field{{Name: "api_key", Secret: true, Required: true, Env: "HF_TOKEN",
				Aliases: []string{"HUGGING_FACE_HUB_TOKEN"},
				Rule:    `must start with "hf_"`, check: prefixed("hf_", 0)}},
			online: bearer("https://huggingface.co", "/api/whoami-v2"),
		},
		{
			Name: "azure-openai", Description: "Azure OpenAI resource key", Main: "api_key",
			Fields: []Field{
				apiKey("AZURE_OPENAI_API_KEY", "", nil),
				{Name: "endpoint", Required: true, Env: "AZURE_OPENAI_ENDPOINT",
					Rule: ruleStrictHTTPS, check: strictHTTPSURL},
				{Name: "api_version", Env: "OPENAI_API_VERSION", Default: "2024-10-21",
					Rule:  "must be a date such as 2024-10-21, optionally with a suffix",
					check: apiVersion},
			},
			online: azureCheck(),
		},
	}
	for _, t := range types {
		if t.online != nil {
			t.Online = t.online.describe
		}
	}
	return types
}

// awsRegion accepts names such as us-east-1 or us-gov-west-1.
func awsRegion(v []byte) bool {
	if len(v) < 6 || len(v) > 32 || v[len(v)-1] < '0' || v[len(v)-1] > '9' {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
