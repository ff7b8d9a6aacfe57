import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';

/**
 * An openapi-fetch middleware that holds every response to what the OpenAPI document declares for
 * its operation: the status is declared, the content type is one of that status's, and a JSON body
 * is valid against its schema (OpenAPI 3.1 schemas are JSON Schema 2020-12, checked by ajv with the
 * formats date-time, ipv4, ipv6 and the rest).
 */

interface MediaObject {
  schema?: unknown;
}
interface ResponseObject {
  content?: Record<string, MediaObject>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, ResponseObject> }>>;
}

export interface ResponseValidator {
  middleware: Middleware;
  /** `METHOD /path/{template} status type`, for every response checked. */
  checked: string[];
  /** What did not match the document, one line each. */
  failures: string[];
}

const DOCUMENT_ID = 'urn:otp-verify:openapi';

/** RFC 6901 token, then percent-encoded for a URI fragment. */
const pointerToken = (token: string): string =>
  encodeURIComponent(token.replaceAll('~', '~0').replaceAll('/', '~1'));

const isJson = (type: string): boolean =>
  type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);

// ajv-formats is CommonJS: under NodeNext its default import is the module object, whose `default` is the plugin.
const addFormats = formats.default;

export function createResponseValidator(document: OpenApiDocument): ResponseValidator {
  // strict: false because the document around the schemas (paths, info, `example` keywords) is not JSON Schema.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  const checked: string[] = [];
  const failures: string[] = [];

  const middleware: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const method = request.method.toLowerCase();
      const status = String(response.status);
      const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
      const where = `${request.method} ${schemaPath} ${status} ${type}`;
      checked.push(where);
      const responses = document.paths[schemaPath]?.[method]?.responses;
      if (!responses) return void failures.push(`${where}: no such operation in the document`);
      const code = status in responses ? status : 'default' in responses ? 'default' : undefined;
      const declared = code === undefined ? undefined : responses[code];
      if (code === undefined || !declared)
        return void failures.push(
          `${where}: status not declared (declared: ${Object.keys(responses).join(', ')})`,
        );
      const body = await response.clone().text();
      if (!declared.content) {
        if (body !== '') failures.push(`${where}: a body where the document declares none`);
        return;
      }
      if (!(type in declared.content))
        return void failures.push(
          `${where}: content type not declared (declared: ${Object.keys(declared.content).join(', ')})`,
        );
      if (!isJson(type) || declared.content[type]?.schema === undefined) return;
      const pointer = ['paths', schemaPath, method, 'responses', code, 'content', type, 'schema']
        .map(pointerToken)
        .join('/');
      const validate = ajv.getSchema(`${DOCUMENT_ID}#/${pointer}`);
      if (!validate) return void failures.push(`${where}: schema not found at #/${pointer}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return void failures.push(`${where}: body is not JSON`);
      }
      if (!validate(parsed))
        failures.push(`${where}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
    },
  };
  return { middleware, checked, failures };
}
