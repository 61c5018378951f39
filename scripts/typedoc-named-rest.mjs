// TypeDoc plugin (typedoc.json "plugin"): a signature whose only parameter is a rest tuple of named
// members, `(...args: [scores: A, options?: B])`, as asyncTwin's twins have (generic over their sync
// function's parameters), is documented with those named parameters, `(scores, options?)`, as
// tsc's declaration output writes it, instead of one `...args` tuple.
import { Converter, ParameterReflection, ReflectionFlag, ReflectionKind } from 'typedoc';

export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_SIGNATURE, (context, sig) => {
    const rest = sig.parameters?.length === 1 ? sig.parameters[0] : undefined;
    if (!rest?.flags.isRest || rest.type?.type !== 'tuple') return;
    const members = rest.type.elements;
    if (!members.every((m) => m.type === 'namedTupleMember' && m.element.type !== 'rest')) return;
    context.project.removeReflection(rest);
    sig.parameters = members.map((m) => {
      const param = new ParameterReflection(m.name, ReflectionKind.Parameter, sig);
      param.type = m.element;
      if (m.isOptional) param.setFlag(ReflectionFlag.Optional, true);
      context.project.registerReflection(param, undefined, undefined);
      return param;
    });
  });
}
