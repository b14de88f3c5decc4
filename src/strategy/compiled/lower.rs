//! Rhai's syntax tree of `decide` (after Rhai's own optimiser) → the [`tree`](super::tree).
//!
//! Lowering refuses, with the reason, anything outside the subset: loops, `throw`,
//! `try`, closures, `this`, calls to functions other than the ones in
//! [`Method`], `?.`, characters, assignments to anything but a plain variable or to a
//! constant, and a script that defines a function with the name of one the
//! evaluator would otherwise run (Rhai would call the script's).
//! Variables are resolved to slots here, with Rhai's block scoping.

use super::tree::{
    switch_hash, Block, Expr, Method, OpportunityField, PortfolioField, Property, Stmt, Switch,
};
use super::value::{BinaryOp, Value};
use rhai::{
    ASTFlags, ASTNode, Dynamic, Engine, Expr as RhaiExpr, FnCallExpr, Map, Stmt as RhaiStmt,
    StmtBlock, AST,
};
use std::borrow::Cow;

/// Why a script is not lowered: what it uses, and where (`autoinvest check` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unsupported {
    line: Option<usize>,
    what: String,
}

impl Unsupported {
    /// Places the error at `position` unless a node inside already placed it.
    fn at(mut self, position: rhai::Position) -> Self {
        if self.line.is_none() {
            self.line = position.line();
        }
        self
    }
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

type Lowered<T> = Result<T, Unsupported>;

fn unsupported<T>(what: impl Into<String>) -> Lowered<T> {
    Err(Unsupported {
        line: None,
        what: what.into(),
    })
}

/// The lowered body of `decide(o, p)` and the number of variable slots it uses.
pub(super) struct Lowering {
    pub body: Block,
    pub slots: usize,
}

/// Lowers `decide(o, p)`: `o` lives in slot 0, `p` in slot 1.
pub(super) fn lower_decide(engine: &Engine, ast: &AST) -> Lowered<Lowering> {
    if !engine.fast_operators() {
        return unsupported("the engine does not use Rhai's built-in operators");
    }
    if engine.fail_on_invalid_map_property() {
        return unsupported("the engine fails on missing map properties");
    }
    for function in ast.iter_functions() {
        if Method::from_name(function.name).is_some() {
            return unsupported(format!("the script defines {}()", function.name));
        }
    }
    let decide = ast.clone_functions_only_filtered(|_, _, _, name, params| {
        name == super::super::DECIDE && params == super::super::DECIDE_PARAMS
    });
    let mut parameters = None;
    for function in decide.iter_functions() {
        parameters = Some(function.params.iter().map(|p| p.to_string()).collect());
    }
    let Some(parameters) = parameters else {
        return unsupported("no decide(o, p)");
    };
    let mut lowering = Lowerer::new(engine, parameters);
    // The body's statements are the nodes one level down in a walk of an AST that
    // holds `decide` alone (Rhai offers no other way to reach a function's body).
    let mut statements = Vec::new();
    let mut failure = None;
    decide.walk(&mut |path: &[ASTNode]| {
        let [node] = path else {
            return true;
        };
        let lowered = match node {
            ASTNode::Stmt(statement) => lowering.statement(statement),
            _ => unsupported("a function body that is not statements"),
        };
        match lowered {
            Ok(lowered) => statements.push(lowered),
            Err(err) => {
                failure = Some(err);
                return false;
            }
        }
        true
    });
    if let Some(err) = failure {
        return Err(err);
    }
    lowering.check_size()?;
    Ok(Lowering {
        body: Block(statements),
        slots: lowering.slots,
    })
}

/// A variable in scope.
struct Variable {
    name: String,
    slot: usize,
    constant: bool,
}

struct Lowerer<'e> {
    engine: &'e Engine,
    /// Innermost last; the function's own scope holds the parameters.
    scopes: Vec<Vec<Variable>>,
    slots: usize,
    /// Nodes lowered, to stay far below the engine's operation limit.
    nodes: u64,
    /// While lowering a block used as a value (`if`/`switch` as an expression): the
    /// number of scopes outside it. Such a block may not assign those scopes'
    /// variables, because operands that are variables are read where they are used,
    /// after the other operands: `x + if c { x = 5; 1 } else { 2 }` would see the new
    /// `x` where Rhai reads the old one.
    value_block_floor: Option<usize>,
}

impl<'e> Lowerer<'e> {
    fn new(engine: &'e Engine, parameters: Vec<String>) -> Self {
        let mut lowerer = Lowerer {
            engine,
            scopes: vec![Vec::new()],
            slots: 0,
            nodes: 0,
            value_block_floor: None,
        };
        for name in parameters {
            lowerer.declare(name, false);
        }
        lowerer
    }

    fn declare(&mut self, name: String, constant: bool) -> usize {
        let slot = self.slots;
        self.slots += 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(Variable {
                name,
                slot,
                constant,
            });
        }
        slot
    }

    /// `let name` again in the block that declared `name`: the same slot, with the
    /// new declaration's constness.
    fn redeclare(&mut self, name: &str, constant: bool) -> Lowered<usize> {
        let innermost = self.scopes.last_mut();
        let found = innermost.and_then(|scope| scope.iter_mut().rev().find(|v| v.name == name));
        match found {
            Some(variable) => {
                variable.constant = constant;
                Ok(variable.slot)
            }
            None => unsupported(format!("the variable {name}, declared again")),
        }
    }

    /// The index of the scope `name` resolves to (0: the function's own); past the
    /// end when it resolves to none.
    fn scope_of(&self, name: &str) -> usize {
        self.scopes
            .iter()
            .rposition(|scope| scope.iter().any(|v| v.name == name))
            .unwrap_or(usize::MAX)
    }

    fn resolve(&self, name: &str) -> Lowered<&Variable> {
        let found = self
            .scopes
            .iter()
            .rev()
            .find_map(|scope| scope.iter().rev().find(|v| v.name == name));
        match found {
            Some(variable) => Ok(variable),
            None => unsupported(format!("the variable {name}, defined outside decide")),
        }
    }

    /// Straight-line code runs each node at most once: a body far smaller than the
    /// operation limit cannot reach it.
    fn check_size(&self) -> Lowered<()> {
        let limit = self.engine.max_operations();
        if limit != 0 && self.nodes.saturating_mul(4) > limit {
            return unsupported("too large for the operation limit");
        }
        let variables = self.engine.max_variables();
        if variables != 0 && self.slots.saturating_mul(2) > variables {
            return unsupported("too many variables for the limit");
        }
        Ok(())
    }

    fn block(&mut self, block: &StmtBlock) -> Lowered<Block> {
        self.scopes.push(Vec::new());
        let lowered = block
            .statements()
            .iter()
            .map(|s| self.statement(s))
            .collect::<Lowered<Vec<_>>>();
        self.scopes.pop();
        Ok(Block(lowered?))
    }

    fn statement(&mut self, statement: &RhaiStmt) -> Lowered<Stmt> {
        self.nodes += 1;
        self.statement_at(statement)
            .map_err(|err| err.at(statement.position()))
    }

    fn statement_at(&mut self, statement: &RhaiStmt) -> Lowered<Stmt> {
        Ok(match statement {
            RhaiStmt::Noop(..) => Stmt::Expr(Expr::Constant(Value::Unit)),
            RhaiStmt::Expr(expr) => Stmt::Expr(self.expr(expr)?),
            RhaiStmt::FnCall(call, _) => Stmt::Expr(self.call(call)?),
            RhaiStmt::Block(block) => Stmt::Block(self.block(block)?),
            RhaiStmt::Var(var, flags, _) => {
                let (name, value, index) = &**var;
                if flags.contains(ASTFlags::EXPORTED) {
                    return unsupported("export");
                }
                let constant = flags.contains(ASTFlags::CONSTANT);
                // The initial value is lowered before the variable exists.
                let value = self.expr(value)?;
                let slot = if index.is_some() {
                    // Declared again in the same block: Rhai reuses the variable.
                    self.redeclare(name.name.as_str(), constant)?
                } else {
                    self.declare(name.name.to_string(), constant)
                };
                Stmt::Let(slot, value)
            }
            RhaiStmt::Assignment(assignment) => {
                let (op, target) = &**assignment;
                let RhaiExpr::Variable(variable, ..) = &target.lhs else {
                    return unsupported("assignment to a property or an index");
                };
                let name = variable.1.as_str();
                if self
                    .value_block_floor
                    .is_some_and(|floor| self.scope_of(name) < floor)
                {
                    return unsupported(format!(
                        "assignment to {name}, declared outside the block used as a value"
                    ));
                }
                let variable = self.resolve(name)?;
                if variable.constant {
                    return unsupported("assignment to a constant");
                }
                let slot = variable.slot;
                let op = match op.get_op_assignment_info() {
                    None => None,
                    Some((.., symbol)) => match BinaryOp::from_symbol(symbol) {
                        Some(op @ (BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Multiply)) => {
                            Some(op)
                        }
                        Some(op @ (BinaryOp::Divide | BinaryOp::Modulo)) => Some(op),
                        _ => return unsupported(format!("the operator {symbol}=")),
                    },
                };
                Stmt::Assign(slot, op, self.expr(&target.rhs)?)
            }
            RhaiStmt::If(flow, _) => Stmt::If(
                self.expr(&flow.expr)?,
                self.block(&flow.body)?,
                self.block(&flow.branch)?,
            ),
            RhaiStmt::Switch(switch, _) => Stmt::Switch(Box::new(self.switch(switch)?)),
            RhaiStmt::Return(value, flags, _) => {
                if flags.contains(ASTFlags::BREAK) {
                    return unsupported("throw");
                }
                Stmt::Return(value.as_deref().map(|v| self.expr(v)).transpose()?)
            }
            RhaiStmt::While(..) | RhaiStmt::Do(..) | RhaiStmt::For(..) => {
                return unsupported("a loop (while, do, loop or for)")
            }
            RhaiStmt::BreakLoop(..) => return unsupported("break or continue"),
            RhaiStmt::TryCatch(..) => return unsupported("try/catch"),
            _ => return unsupported("a statement of a kind it does not support"),
        })
    }

    fn switch(&mut self, switch: &(RhaiExpr, rhai::SwitchCasesCollection)) -> Lowered<Switch> {
        let (value, collection) = switch;
        if !collection.ranges.is_empty() {
            return unsupported("switch with ranges");
        }
        if !probe_switch_hash(self.engine) {
            return unsupported("switch (Rhai's case hashing could not be matched)");
        }
        let mut arms = Vec::with_capacity(collection.expressions.len());
        for case in collection.expressions.iter() {
            if !matches!(case.lhs, RhaiExpr::BoolConstant(true, _)) {
                return unsupported("switch case with a condition");
            }
            // An arm's block runs after the switch value is read: it may assign
            // variables unless the switch itself is used as a value.
            arms.push(match &case.rhs {
                RhaiExpr::Stmt(block) => Expr::Block(self.block(block)?),
                arm => self.expr(arm)?,
            });
        }
        let mut cases = Vec::with_capacity(collection.cases.len());
        for (hash, blocks) in collection.cases.iter() {
            let Some(&first) = blocks.blocks.first() else {
                return unsupported("switch case without a block");
            };
            cases.push((*hash, first));
        }
        Ok(Switch {
            value: self.expr(value)?,
            cases,
            arms,
            default: collection.def_case,
        })
    }

    fn exprs<'x>(&mut self, exprs: impl IntoIterator<Item = &'x RhaiExpr>) -> Lowered<Vec<Expr>> {
        exprs.into_iter().map(|e| self.expr(e)).collect()
    }

    fn expr(&mut self, expr: &RhaiExpr) -> Lowered<Expr> {
        self.nodes += 1;
        self.expr_at(expr).map_err(|err| err.at(expr.position()))
    }

    fn expr_at(&mut self, expr: &RhaiExpr) -> Lowered<Expr> {
        Ok(match expr {
            RhaiExpr::DynamicConstant(value, _) => Expr::Constant(constant(value)?),
            RhaiExpr::BoolConstant(b, _) => Expr::Constant(Value::Bool(*b)),
            RhaiExpr::IntegerConstant(n, _) => Expr::Constant(Value::Int(*n)),
            RhaiExpr::StringConstant(s, _) => Expr::Constant(Value::Str(Cow::Owned(s.to_string()))),
            RhaiExpr::Unit(_) => Expr::Constant(Value::Unit),
            RhaiExpr::InterpolatedString(parts, _) => Expr::Interpolated(self.exprs(parts.iter())?),
            RhaiExpr::Array(items, _) => {
                let limit = self.engine.max_array_size();
                if limit != 0 && items.len() > limit {
                    return unsupported("array literal over the size limit");
                }
                Expr::Array(self.exprs(items.iter())?)
            }
            RhaiExpr::Map(map, _) => {
                let (entries, template) = &**map;
                let limit = self.engine.max_map_size();
                if template.len() != entries.len() || (limit != 0 && entries.len() > limit) {
                    return unsupported("map literal with repeated keys or over the size limit");
                }
                let mut lowered = Vec::with_capacity(entries.len());
                for (key, value) in entries.iter() {
                    lowered.push((key.name.as_str().into(), self.expr(value)?));
                }
                Expr::Map(lowered)
            }
            RhaiExpr::Variable(variable, ..) => {
                Expr::Local(self.resolve(variable.1.as_str())?.slot)
            }
            RhaiExpr::Stmt(block) => {
                let outer = self.value_block_floor.replace(self.scopes.len());
                let block = self.block(block);
                self.value_block_floor = outer;
                Expr::Block(block?)
            }
            RhaiExpr::FnCall(call, _) => self.call(call)?,
            RhaiExpr::Dot(chain, flags, _) => {
                if flags.contains(ASTFlags::NEGATED) {
                    return unsupported("?.");
                }
                let base = self.expr(&chain.lhs)?;
                self.chain(base, &chain.rhs)?
            }
            RhaiExpr::Index(index, flags, _) => {
                if flags.contains(ASTFlags::NEGATED) {
                    return unsupported("?[");
                }
                let base = self.expr(&index.lhs)?;
                Expr::Index(Box::new(base), Box::new(self.index_value(&index.rhs)?))
            }
            RhaiExpr::And(items, _) => Expr::And(self.exprs(items.iter())?),
            RhaiExpr::Or(items, _) => Expr::Or(self.exprs(items.iter())?),
            RhaiExpr::Coalesce(items, _) => Expr::Coalesce(self.exprs(items.iter())?),
            RhaiExpr::CharConstant(..) => return unsupported("a character literal"),
            RhaiExpr::ThisPtr(..) => return unsupported("this"),
            _ => return unsupported("an expression of a kind it does not support"),
        })
    }

    /// An index inside a chain must be a value of its own, not the rest of a chain.
    fn index_value(&mut self, expr: &RhaiExpr) -> Lowered<Expr> {
        match expr {
            RhaiExpr::Dot(..) | RhaiExpr::Index(..) => {
                unsupported("an index that is itself a property chain")
            }
            simple => self.expr(simple),
        }
    }

    /// `base` followed by `.property`, `.method(…)`, `[index]`, … as Rhai nests them.
    fn chain(&mut self, base: Expr, rest: &RhaiExpr) -> Lowered<Expr> {
        self.nodes += 1;
        Ok(match rest {
            RhaiExpr::Property(property, _) => {
                let name = property.2.as_str();
                Expr::Property(
                    Box::new(base),
                    Property {
                        name: name.into(),
                        opportunity: OpportunityField::from_name(name),
                        portfolio: PortfolioField::from_name(name),
                    },
                )
            }
            RhaiExpr::MethodCall(call, _) => {
                let method = self.method(call)?;
                Expr::Method(Box::new(base), method, self.exprs(call.args.iter())?)
            }
            RhaiExpr::Dot(chain, flags, _) => {
                if flags.contains(ASTFlags::NEGATED) {
                    return unsupported("?.");
                }
                let base = self.chain(base, &chain.lhs)?;
                self.chain(base, &chain.rhs)?
            }
            RhaiExpr::Index(index, flags, _) => {
                if flags.contains(ASTFlags::NEGATED) {
                    return unsupported("?[");
                }
                let base = self.chain(base, &index.lhs)?;
                Expr::Index(Box::new(base), Box::new(self.index_value(&index.rhs)?))
            }
            _ => return unsupported("a property chain of a kind it does not support"),
        })
    }

    fn method(&self, call: &FnCallExpr) -> Lowered<Method> {
        if call.capture_parent_scope || call.is_operator_call() {
            return unsupported(format!("the call {}()", call.name));
        }
        match Method::from_name(call.name.as_str()) {
            Some(method) => Ok(method),
            None => unsupported(format!("the function {}()", call.name)),
        }
    }

    /// An operator, or a function called as `name(receiver, args…)`.
    fn call(&mut self, call: &FnCallExpr) -> Lowered<Expr> {
        let name = call.name.as_str();
        if call.is_operator_call() {
            return match (name, call.args.as_slice()) {
                ("!", [operand]) => Ok(Expr::Not(Box::new(self.expr(operand)?))),
                ("-", [operand]) => Ok(Expr::Negate(Box::new(self.expr(operand)?))),
                (_, [lhs, rhs]) => match BinaryOp::from_symbol(name) {
                    Some(op) => Ok(Expr::Binary(
                        op,
                        Box::new(self.expr(lhs)?),
                        Box::new(self.expr(rhs)?),
                    )),
                    None => unsupported(format!("the operator {name}")),
                },
                _ => unsupported(format!("the operator {name}")),
            };
        }
        let method = self.method(call)?;
        let Some((receiver, args)) = call.args.split_first() else {
            return unsupported(format!("{name}() without arguments"));
        };
        Ok(Expr::Method(
            Box::new(self.expr(receiver)?),
            method,
            self.exprs(args.iter())?,
        ))
    }
}

/// A constant the optimiser folded (numbers, strings, literal arrays and maps).
fn constant(value: &Dynamic) -> Lowered<Value<'static>> {
    if value.is_unit() {
        return Ok(Value::Unit);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(n) = value.as_int() {
        return Ok(Value::Int(n));
    }
    if let Ok(d) = value.as_decimal() {
        return Ok(Value::Decimal(d));
    }
    if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
        return Ok(Value::Str(Cow::Owned(s.to_string())));
    }
    if let Some(items) = value.read_lock::<rhai::Array>() {
        return Ok(Value::Array(
            items.iter().map(constant).collect::<Lowered<_>>()?,
        ));
    }
    if let Some(map) = value.read_lock::<Map>() {
        return Ok(Value::Map(
            map.iter()
                .map(|(k, v)| Ok((Cow::Owned(k.to_string()), constant(v)?)))
                .collect::<Lowered<_>>()?,
        ));
    }
    unsupported(format!("a constant of type {}", value.type_name()))
}

/// `true` when hashing switch values the evaluator's way gives Rhai's case hashes.
fn probe_switch_hash(engine: &Engine) -> bool {
    let mut scope = rhai::Scope::new();
    scope.push("x", ());
    let Ok(ast) = engine.compile_with_scope(&scope, r#"switch x { "probe" => 1, 7 => 2 }"#) else {
        return false;
    };
    let Some(RhaiStmt::Switch(switch, _)) = ast.statements().first() else {
        return false;
    };
    let cases = &switch.1.cases;
    let expected = [Dynamic::from("probe"), Dynamic::from_int(7)];
    cases.len() == expected.len() && expected.iter().all(|v| cases.contains_key(&switch_hash(v)))
}
