// Sets up Monaco the way VS Code sets up the extension's language: the language
// configuration as VS Code reads it from language-configuration.json, and tokens from the
// TextMate grammar, each token carrying the standard type (string, comment, other) that
// VS Code derives from its scopes and that `notIn` rules test.
/* global require, monaco, onig, vscodetextmate */

async function json(path) {
  const response = await fetch(path);
  return response.json();
}

function regExp(pattern) {
  return pattern === undefined ? undefined : new RegExp(pattern);
}

// VS Code's conversion of language-configuration.json: strings to regular expressions, and
// onEnter actions to their enum.
function languageConfiguration(raw) {
  const indentActions = { none: 0, indent: 1, indentOutdent: 2, outdent: 3 };
  return {
    comments: raw.comments,
    brackets: raw.brackets,
    autoClosingPairs: raw.autoClosingPairs,
    autoCloseBefore: raw.autoCloseBefore,
    surroundingPairs: raw.surroundingPairs?.map(([open, close]) => ({ open, close })),
    wordPattern: regExp(raw.wordPattern),
    folding: raw.folding && {
      markers: {
        start: regExp(raw.folding.markers.start),
        end: regExp(raw.folding.markers.end),
      },
    },
    indentationRules: raw.indentationRules && {
      increaseIndentPattern: regExp(raw.indentationRules.increaseIndentPattern),
      decreaseIndentPattern: regExp(raw.indentationRules.decreaseIndentPattern),
    },
    onEnterRules: raw.onEnterRules?.map((rule) => ({
      beforeText: regExp(rule.beforeText),
      afterText: regExp(rule.afterText),
      action: {
        indentAction: indentActions[rule.action.indent],
        appendText: rule.action.appendText,
      },
    })),
  };
}

// The standard token type VS Code gives a token: the last of comment, string or regex in its
// scopes, unless a later meta.embedded scope resets it (vscode-textmate's rule).
function standardType(scopes) {
  let type = 'other';
  for (const scope of scopes) {
    const found = /\b(comment|string|regex|meta\.embedded)\b/.exec(scope);
    if (found) {
      type = found[1] === 'meta.embedded' ? 'other' : found[1];
    }
  }
  return type;
}

class State {
  constructor(ruleStack) {
    this.ruleStack = ruleStack;
  }
  clone() {
    return new State(this.ruleStack);
  }
  equals(other) {
    return other instanceof State && other.ruleStack === this.ruleStack;
  }
}

window.ready = (async () => {
  const wasm = await (await fetch('/node_modules/vscode-oniguruma/release/onig.wasm')).arrayBuffer();
  await onig.loadWASM(wasm);
  const grammarJson = await json('/syntaxes/wf.tmLanguage.json');
  const registry = new vscodetextmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new onig.OnigScanner(sources),
      createOnigString: (text) => new onig.OnigString(text),
    }),
    loadGrammar: async (scopeName) => (scopeName === 'source.wf' ? grammarJson : null),
  });
  const grammar = await registry.loadGrammar('source.wf');
  const configuration = await json('/language-configuration.json');
  await new Promise((resolve) => {
    require.config({ paths: { vs: '/node_modules/monaco-editor/min/vs' } });
    require(['vs/editor/editor.main'], resolve);
  });
  monaco.languages.register({ id: 'wf', extensions: ['.wf'] });
  monaco.languages.setLanguageConfiguration('wf', languageConfiguration(configuration));
  monaco.languages.setTokensProvider('wf', {
    getInitialState: () => new State(vscodetextmate.INITIAL),
    tokenize(line, state) {
      const result = grammar.tokenizeLine(line, state.ruleStack);
      return {
        // Monaco derives the standard type from a token's name, as VS Code does from scopes.
        tokens: result.tokens.map((token) => ({
          startIndex: token.startIndex,
          scopes: `${standardType(token.scopes)}.wf`,
        })),
        endState: new State(result.ruleStack),
      };
    },
  });
  window.editor = monaco.editor.create(document.getElementById('editor'), {
    language: 'wf',
    autoClosingBrackets: 'languageDefined',
    autoClosingQuotes: 'languageDefined',
    autoClosingOvertype: 'always',
    autoIndent: 'full',
  });
  // The standard type of the token at a position, so the test can check the tokens.
  window.tokenTypeAt = (lineNumber, column) => {
    const model = window.editor.getModel();
    model.tokenization.forceTokenization(lineNumber);
    const tokens = model.tokenization.getLineTokens(lineNumber);
    const index = tokens.findTokenIndexAtOffset(column - 1);
    return tokens.getStandardTokenType(index);
  };
})();
